// The one module that talks to the desktop shell: every command and event of the UI goes through here,
// so no component imports @tauri-apps/* itself. The shapes come from bindings.ts, generated from Rust.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AccountView, ConnectionView, DesktopSettings, DiscordAccountView, DiscordServerView, Event, FeedQuery, Overview, Platform,
  RelayView, StartupView, StatsView, StoreHealthView,
} from "./bindings";

/** Whether OnAir records, or why its database could not be opened (then only `recover` and `quit` work). */
export function startup(): Promise<StartupView> {
  return invoke<StartupView>("startup");
}

/** Opens the database again, moving a file OnAir cannot use aside first when `moveAside`; resolves with how it went. */
export function recover(moveAside: boolean): Promise<StartupView> {
  return invoke<StartupView>("recover", { moveAside });
}

/** Quits OnAir. */
export function quit(): Promise<void> {
  return invoke<void>("quit");
}

export function overview(): Promise<Overview> {
  return invoke<Overview>("overview");
}

export function listEvents(query: FeedQuery): Promise<Event[]> {
  return invoke<Event[]>("list_events", { query });
}

export function stats(): Promise<StatsView> {
  return invoke<StatsView>("stats");
}

export function getSettings(): Promise<DesktopSettings> {
  return invoke<DesktopSettings>("get_settings");
}

/** Saves and applies the settings; resolves with what is now in force. */
export function setSettings(settings: DesktopSettings): Promise<DesktopSettings> {
  return invoke<DesktopSettings>("set_settings", { settings });
}

/**
 * Watches a channel (`kick:slug`, `kick:slug@CHANNEL_ID/CHATROOM_ID`, `twitch:login` or
 * `discord:SERVER_ID[/CHANNEL_ID,...]`); a channel already watched takes the new spec.
 */
export function watchChannel(spec: string): Promise<DesktopSettings> {
  return invoke<DesktopSettings>("watch_channel", { spec });
}

export function unwatchChannel(spec: string): Promise<DesktopSettings> {
  return invoke<DesktopSettings>("unwatch_channel", { spec });
}

export function simulate(on: boolean, rate?: number): Promise<void> {
  return invoke<void>("simulate", { on, rate });
}

/** The connection of card `id` (every connection without one) reconnects now, with a fresh retry count. */
export function reconnect(id?: string): Promise<void> {
  return invoke<void>("reconnect", { id });
}

export function openLogs(): Promise<void> {
  return invoke<void>("open_logs");
}

/** Called (at most 20 times a second) when new events were committed to the store, by the app or another OnAir process. */
export function onCommitted(handler: (generation: number) => void): Promise<UnlistenFn> {
  return listen<number>("onair://committed", (e) => handler(e.payload));
}

/** Called when the store's health changes: writes held up (what is wrong, what to do), or recording again. */
export function onStoreHealth(handler: (health: StoreHealthView) => void): Promise<UnlistenFn> {
  return listen<StoreHealthView>("onair://store-health", (e) => handler(e.payload));
}

/** Called when a card changes: state, last event. */
export function onConnection(handler: (view: ConnectionView) => void): Promise<UnlistenFn> {
  return listen<ConnectionView>("onair://connection", (e) => handler(e.payload));
}

/** Called when a card is gone (its channel unwatched). */
export function onConnectionRemoved(handler: (id: string) => void): Promise<UnlistenFn> {
  return listen<string>("onair://connection-removed", (e) => handler(e.payload));
}

/** Called when the settings changed outside the window (the tray's Pause notifications). */
export function onSettings(handler: (settings: DesktopSettings) => void): Promise<UnlistenFn> {
  return listen<DesktopSettings>("onair://settings", (e) => handler(e.payload));
}

/** The platforms' sign-ins. */
export function accounts(): Promise<AccountView[]> {
  return invoke<AccountView[]>("accounts");
}

/** Signs in to `platform` in the login window; `clientSecret` when the keychain has none yet. */
export function login(platform: Platform, clientSecret?: string): Promise<void> {
  return invoke<void>("login", { platform, clientSecret });
}

/** Signs out of `platform`; resolves with a warning when the tokens could not be revoked. */
export function logout(platform: Platform): Promise<string | null> {
  return invoke<string | null>("logout", { platform });
}

/** The Discord bot whose token is kept (with the page that adds it to a server), or why there is none. */
export function discordAccount(): Promise<DiscordAccountView> {
  return invoke<DiscordAccountView>("discord_account");
}

/** Checks the bot's token with Discord and keeps it in the keychain; rejects with what to do when refused. */
export function setDiscordToken(token: string): Promise<DiscordAccountView> {
  return invoke<DiscordAccountView>("set_discord_token", { token });
}

/** Forgets the bot's token; resolves with what is left to do, if anything. */
export function forgetDiscordToken(): Promise<string | null> {
  return invoke<string | null>("forget_discord_token");
}

/** The servers the bot is in, each with its message channels. */
export function discordServers(): Promise<DiscordServerView[]> {
  return invoke<DiscordServerView[]>("discord_servers");
}

/** Opens the page that adds the bot to a server, in the browser. */
export function openDiscordInvite(): Promise<void> {
  return invoke<void>("open_discord_invite");
}

/** Called when a sign-in changed (signed in, out, or a renewal was refused). */
export function onAccounts(handler: () => void): Promise<UnlistenFn> {
  return listen<null>("onair://accounts", () => handler());
}

/** Tells the shell the dashboard has painted (it logs the time since start). */
export function painted(): Promise<void> {
  return invoke<void>("painted");
}

/** The relay: where it listens, who is connected, or why it does not run. */
export function relay(): Promise<RelayView> {
  return invoke<RelayView>("relay");
}

/** The relay's token, to show and copy. */
export function relayToken(): Promise<string> {
  return invoke<string>("relay_token");
}

/** Replaces the relay's token; clients holding the old one are disconnected. */
export function rotateRelayToken(): Promise<void> {
  return invoke<void>("rotate_relay_token");
}
