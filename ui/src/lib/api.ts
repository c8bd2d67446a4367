// The one module that talks to the desktop shell: every command and event of the UI goes through here,
// so no component imports @tauri-apps/* itself.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { ConnectionView, Event, FeedQuery, Overview } from "./types";

export function overview(): Promise<Overview> {
  return invoke<Overview>("overview");
}

export function listEvents(query: FeedQuery): Promise<Event[]> {
  return invoke<Event[]>("list_events", { query });
}

export function simulate(on: boolean, rate?: number): Promise<void> {
  return invoke<void>("simulate", { on, rate });
}

/** Every connection reconnects now, with a fresh retry count. */
export function reconnect(): Promise<void> {
  return invoke<void>("reconnect");
}

/** Called (at most 20 times a second) when new events were committed to the store. */
export function onCommitted(handler: (committed: number) => void): Promise<UnlistenFn> {
  return listen<number>("onair://committed", (e) => handler(e.payload));
}

/** Called at every connection state change. */
export function onConnection(handler: (view: ConnectionView) => void): Promise<UnlistenFn> {
  return listen<ConnectionView>("onair://connection", (e) => handler(e.payload));
}
