//! The shapes the dashboard sees and sends (connection cards, the feed's query, stats, accounts, the
//! desktop's settings) and the connection book-keeping behind the cards. Each derives its TypeScript
//! declaration; [`typescript`] renders them all into the UI's `bindings.ts`, which a test keeps current.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use onair_core::{ConnectionId, ConnectionState, EventKind, Platform};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::health::HealthNotice;
use crate::notify::NotifyRules;

/// A connection as its card shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// `kick/onair-demo`, `discord/SERVER_ID`: the connection's id, stable while it runs.
    pub id: String,
    /// The platform.
    pub platform: Platform,
    /// The channels it serves.
    pub name: String,
    /// Where it is.
    pub state: ConnectionState,
    /// When it entered that state.
    #[ts(type = "string")]
    pub since: DateTime<Utc>,
    /// How many times it lost the connection (or was asked to reconnect).
    pub reconnects: u32,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// When its last event arrived.
    #[ts(type = "string | null")]
    pub last_event_at: Option<DateTime<Utc>>,
    /// The watch spec that started it (`kick:slug`, `twitch:login`, `discord:SERVER_ID/CHANNEL_ID`), for
    /// Unwatch; `None` for the simulator.
    pub spec: Option<String>,
    /// Events it cannot receive now, in words (a missing permission, a subscription the platform ended,
    /// polling standing in for the live connection).
    pub warnings: Vec<String>,
}

/// The cards, kept current from each connection's state changes.
#[derive(Debug, Default)]
pub struct Connections {
    views: BTreeMap<String, ConnectionView>,
}

impl Connections {
    /// Every card, in id order.
    pub fn all(&self) -> Vec<ConnectionView> {
        self.views.values().cloned().collect()
    }

    /// Records a state change of `id` (watched for `spec`): its time, the reconnect count, the last error.
    pub fn update(
        &mut self,
        id: &ConnectionId,
        spec: Option<&str>,
        state: &ConnectionState,
    ) -> ConnectionView {
        let key = id.to_string();
        let view = self.views.entry(key.clone()).or_insert_with(|| ConnectionView {
            id: key,
            platform: id.platform,
            name: id.name.clone(),
            state: state.clone(),
            since: Utc::now(),
            reconnects: 0,
            last_error: None,
            last_event_at: None,
            spec: spec.map(str::to_owned),
            warnings: Vec::new(),
        });
        // A connection lost (then retried), or asked to reconnect, counts once.
        let was_connected = matches!(view.state, ConnectionState::Connected { .. });
        if was_connected
            && matches!(
                state,
                ConnectionState::Reconnecting { .. } | ConnectionState::Connecting
            )
        {
            view.reconnects += 1;
        }
        if let ConnectionState::Failed { reason } = state {
            view.last_error = Some(reason.clone());
        }
        if view.state != *state {
            view.since = Utc::now();
        }
        if let Some(spec) = spec {
            spec.clone_into(view.spec.get_or_insert_with(String::new));
        }
        view.state = state.clone();
        view.clone()
    }

    /// Notes an event of the connection `id` at `at`; the card, when there is one.
    pub fn saw_event(&mut self, id: &str, at: DateTime<Utc>) -> Option<ConnectionView> {
        let view = self.views.get_mut(id)?;
        view.last_event_at = Some(at);
        Some(view.clone())
    }

    /// Names the card `id` as people should read it (a Discord card is keyed by the server's id, and named
    /// after the server and its shard once they are known); the card, when it changed.
    pub fn rename(&mut self, id: &str, name: &str) -> Option<ConnectionView> {
        let view = self.views.get_mut(id)?;
        if view.name == name {
            return None;
        }
        name.clone_into(&mut view.name);
        Some(view.clone())
    }

    /// Sets the warnings of the connection `id`; the card, when there is one.
    pub fn warn(&mut self, id: &str, warnings: &[String]) -> Option<ConnectionView> {
        let view = self.views.get_mut(id)?;
        view.warnings = warnings.to_vec();
        Some(view.clone())
    }

    /// Forgets the card `id` (its channel is no longer watched).
    pub fn remove(&mut self, id: &str) -> Option<ConnectionView> {
        self.views.remove(id)
    }

    /// The state of all of them together, for the tray icon.
    pub fn overall(&self) -> Overall {
        let states = self.views.values().map(|v| &v.state);
        let mut overall = Overall::Idle;
        for state in states {
            let this = match state {
                ConnectionState::Connected { .. } => Overall::Connected,
                ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => Overall::Reconnecting,
                ConnectionState::Failed { .. } => Overall::Failed,
                ConnectionState::Disconnected => Overall::Idle,
            };
            overall = overall.max(this);
        }
        overall
    }
}

/// All connections at once, worst first when ordered from high to low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    /// Nothing watched (or everything closed on purpose).
    Idle,
    /// Every watched connection is connected.
    Connected,
    /// Some are connecting or reconnecting.
    Reconnecting,
    /// Some gave up.
    Failed,
    /// Events are not being recorded: the database's writes keep failing (see [`StoreHealthView`]).
    NotRecording,
}

impl Overall {
    /// The connections' state together with the store's: writes held up outrank any connection's
    /// trouble, since events then wait in memory whatever the connections do.
    pub fn with_store(self, health: &StoreHealthView) -> Overall {
        if health.state == HealthState::HeldUp {
            Overall::NotRecording
        } else {
            self
        }
    }
}

/// Whether events reach the database, as the dashboard's banner shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StoreHealthView {
    /// Recording, held up, or recording again after being held up.
    pub state: HealthState,
    /// The sentence to show ([`HealthNotice`]'s text: what is wrong and what to do, or that recording
    /// resumed); none while all has been well.
    pub message: Option<String>,
    /// When it entered this state.
    #[ts(type = "string")]
    pub since: DateTime<Utc>,
}

/// The store's health in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Events are committed as they arrive.
    Recording,
    /// Writes keep failing; events wait in memory.
    HeldUp,
    /// Writes succeed again after being held up; what waited is stored.
    Recovered,
}

impl StoreHealthView {
    /// All well, as at start.
    pub fn recording() -> StoreHealthView {
        StoreHealthView {
            state: HealthState::Recording,
            message: None,
            since: Utc::now(),
        }
    }

    /// The view after `notice`.
    pub fn after(notice: &HealthNotice) -> StoreHealthView {
        StoreHealthView {
            state: match notice {
                HealthNotice::HeldUp(_) => HealthState::HeldUp,
                HealthNotice::Recovered => HealthState::Recovered,
            },
            message: Some(notice.to_string()),
            since: Utc::now(),
        }
    }
}

impl Default for StoreHealthView {
    fn default() -> Self {
        StoreHealthView::recording()
    }
}

/// How the app's start went, for the window: the hub runs, or the database could not be opened and the
/// window offers what can be done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum StartupView {
    /// The database is open and OnAir records.
    Running {
        /// Where an unusable database file was moved at this start, if it was.
        moved_aside: Option<String>,
    },
    /// The database could not be opened; nothing runs yet.
    Stopped {
        /// The database file.
        database: String,
        /// What is wrong (the store's error: it names the file and says what to do).
        problem: String,
        /// Whether the file itself is the trouble (not OnAir's, or damaged), so moving it aside and
        /// starting a new database helps.
        can_move_aside: bool,
    },
}

impl StartupView {
    /// The window's view of a database at `database` that could not be opened because of `error`.
    pub fn stopped(database: &std::path::Path, error: &onair_store::StoreError) -> StartupView {
        StartupView::Stopped {
            database: database.display().to_string(),
            problem: error.to_string(),
            can_move_aside: error.is_unusable_file(),
        }
    }
}

/// The feed's query.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct FeedQuery {
    /// Only events after this offset (the live tail).
    #[ts(optional)]
    pub after: Option<i64>,
    /// Only events before this offset (older pages); without `after` or `before`, the newest `limit`.
    #[ts(optional)]
    pub before: Option<i64>,
    /// Only these kinds.
    #[ts(optional, as = "Option<Vec<EventKind>>")]
    pub kinds: Vec<EventKind>,
    /// Only this platform.
    #[ts(optional)]
    pub platform: Option<Platform>,
    /// Only this channel (its slug).
    #[ts(optional)]
    pub channel: Option<String>,
    /// Only chat matching these words.
    #[ts(optional)]
    pub search: Option<String>,
    /// At most this many (default 500, at most 5000).
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// What the dashboard shows at a glance.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// The database file.
    pub database: String,
    /// The connections' cards.
    pub connections: Vec<ConnectionView>,
    /// Whether the simulator runs.
    pub simulating: bool,
    /// The folder of the log files.
    pub logs: String,
    /// Whether events reach the database.
    pub health: StoreHealthView,
}

/// A signed-in account, as the Login section shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// The platform.
    pub platform: Platform,
    /// The name shown on the platform, when signed in.
    pub signed_in_as: Option<String>,
    /// The account's own channel, when known.
    pub own_channel: Option<String>,
    /// Whether signing in is set up (the app's client id is known).
    pub can_sign_in: bool,
    /// Whether the app's client secret is in the keychain (else the sign-in asks for it).
    pub has_client_secret: bool,
    /// What went wrong with the account, in words (a renewal the platform refused: sign in again).
    pub problem: Option<String>,
    /// A device-code sign-in under way (Twitch): the code to enter and where.
    pub device_code: Option<DeviceCodeView>,
}

/// What the user must do to finish a device-code sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCodeView {
    /// The code to enter.
    pub user_code: String,
    /// The page to enter it on.
    pub verification_uri: String,
}

/// The Discord bot whose token OnAir keeps, as the Accounts section shows it.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiscordAccountView {
    /// The bot, when a token is kept and Discord accepts it.
    pub bot: Option<DiscordBotView>,
    /// Whether the token comes from `ONAIR_DISCORD_BOT_TOKEN` (then it is neither kept nor forgotten here).
    pub from_environment: bool,
    /// What went wrong with the token, in words, and what to do.
    pub problem: Option<String>,
}

/// A Discord bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiscordBotView {
    /// Its user id (also its application's id).
    pub id: String,
    /// Its user name.
    pub name: String,
    /// The page that adds it to a server with the permissions OnAir needs.
    pub invite_url: String,
}

/// A Discord server the bot is in, with the channels whose messages it can record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiscordServerView {
    /// The server's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its message channels the bot can see, by name.
    pub channels: Vec<DiscordChannelView>,
    /// Why its channels could not be listed, when they could not.
    pub problem: Option<String>,
}

/// A message channel of a Discord server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiscordChannelView {
    /// Its id.
    pub id: String,
    /// Its name, without `#`.
    pub name: String,
}

/// Events of one kind in one minute.
#[derive(Debug, Clone, Serialize, TS)]
pub struct MinuteCountView {
    /// The minute's start.
    #[ts(type = "string")]
    pub minute: DateTime<Utc>,
    /// The kind.
    pub kind: EventKind,
    /// How many.
    pub count: u64,
}

/// The Stats view.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    /// Events per minute by kind over the last hour.
    pub per_minute: Vec<MinuteCountView>,
    /// Totals by kind since the app started.
    #[ts(as = "BTreeMap<EventKind, u64>")]
    pub session_totals: BTreeMap<EventKind, u64>,
    /// When the session started.
    #[ts(type = "string")]
    pub session_start: DateTime<Utc>,
    /// Every event stored.
    pub stored: u64,
}

/// The colour scheme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// As the system says.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The desktop app's settings (no secret ever goes here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct DesktopSettings {
    /// The channels watched, as specs (`kick:slug`, `kick:slug@CHANNEL_ID/CHATROOM_ID`, `twitch:login`,
    /// `discord:SERVER_ID[/CHANNEL_ID,...]`).
    pub channels: Vec<String>,
    /// What notifies.
    pub notifications: NotifyRules,
    /// Start hidden in the tray.
    pub start_minimised: bool,
    /// Start with the session.
    pub launch_at_login: bool,
    /// The colour scheme.
    pub theme: Theme,
    /// The Kick app's client id, for signing in (its secret is kept in the keychain).
    pub kick_client_id: Option<String>,
    /// The Twitch app's client id (a public client: no secret), for signing in and watching Twitch.
    pub twitch_client_id: Option<String>,
    /// The relay for overlays and bots.
    pub relay: RelaySettings,
}

/// The relay's settings (its token is kept in the keychain, never here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct RelaySettings {
    /// Serve events to overlays and bots.
    pub enabled: bool,
    /// The port it listens on.
    pub port: u16,
    /// Listen on every network interface, so other computers on the network (a second PC running OBS)
    /// can connect with the token; otherwise only this computer can.
    pub lan: bool,
}

impl Default for RelaySettings {
    fn default() -> RelaySettings {
        RelaySettings {
            enabled: true,
            port: onair_relay::DEFAULT_PORT,
            lan: false,
        }
    }
}

impl RelaySettings {
    /// The address to listen on.
    pub fn addr(&self) -> std::net::SocketAddr {
        let ip: std::net::IpAddr = if self.lan {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv4Addr::LOCALHOST.into()
        };
        std::net::SocketAddr::new(ip, self.port)
    }
}

/// The relay as the app shows it.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RelayView {
    /// Where it listens (`127.0.0.1:41490`), while it runs.
    pub address: Option<String>,
    /// Why it does not run although it is on: what happened and what to do.
    pub problem: Option<String>,
    /// Who is connected, oldest first.
    pub clients: Vec<onair_relay::RelayClient>,
}

/// Every declaration the UI uses, as the text of `ui/src/lib/bindings.ts`.
pub fn typescript() -> String {
    let cfg = onair_core::ts::config();
    let mut decls = onair_core::ts::declarations(&cfg);
    decls.extend([
        ConnectionView::decl(&cfg),
        Overview::decl(&cfg),
        Overall::decl(&cfg),
        StoreHealthView::decl(&cfg),
        HealthState::decl(&cfg),
        StartupView::decl(&cfg),
        FeedQuery::decl(&cfg),
        AccountView::decl(&cfg),
        DeviceCodeView::decl(&cfg),
        DiscordAccountView::decl(&cfg),
        DiscordBotView::decl(&cfg),
        DiscordServerView::decl(&cfg),
        DiscordChannelView::decl(&cfg),
        MinuteCountView::decl(&cfg),
        StatsView::decl(&cfg),
        Theme::decl(&cfg),
        NotifyRules::decl(&cfg),
        onair_relay::Filter::decl(&cfg),
        onair_relay::RelayClient::decl(&cfg),
        RelaySettings::decl(&cfg),
        RelayView::decl(&cfg),
        DesktopSettings::decl(&cfg),
    ]);
    onair_core::ts::module(
        "// Generated from the Rust types (onair::views::typescript); do not edit. crates/onair/tests/bindings.rs\n\
         // fails when it is stale; ONAIR_BLESS=1 cargo test -p onair --test bindings rewrites it.\n",
        decls,
    )
}
