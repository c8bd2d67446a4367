//! The simulator (feature `simulator`): a local Pusher-protocol server that plays a realistic, varied Kick
//! stream on a demo channel (the stream going live, chat with emotes and replies, follows, subscriptions,
//! gifts with their lucky-users twin, Kicks, timeouts, bans and unbans, deleted messages, a raid now and
//! then, and the stream going offline when it stops). OnAir's real client connects to it exactly as to
//! Kick, so a new user sees OnAir work without an account, overlays can be tested, and end-to-end tests
//! have live data. Its frames have Kick's wire shapes (those of `fixtures/kick/`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use onair_core::{ChannelRef, PlatformError};
use onair_pusher::server::{ScriptedServer, ServerConn, event_frame};
use onair_pusher::{Endpoint, PusherConfig};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::{KickIds, KickPlatform, KickRest, RestConfig, WatchSpec};

/// The demo channel's slug.
pub const DEMO_SLUG: &str = "onair-demo";
/// The demo channel's id (far above Kick's, so it never meets a real channel in the store).
pub const DEMO_CHANNEL_ID: u64 = 999_999_001;
/// The demo channel's chatroom id.
pub const DEMO_CHATROOM_ID: u64 = 999_999_002;
const DEMO_USER_ID: u64 = 999_999_000;

/// How the simulated stream runs.
#[derive(Debug, Clone, Copy)]
pub struct SimulatorOptions {
    /// Events per second on average (the gaps vary).
    pub events_per_second: f64,
    /// The seed of the stream's randomness: the same seed plays the same stream.
    pub seed: u64,
}

impl Default for SimulatorOptions {
    fn default() -> Self {
        SimulatorOptions {
            events_per_second: 4.0,
            seed: 0x0A1F,
        }
    }
}

/// A running simulator.
pub struct Simulator {
    url: String,
    /// The server's address: the look-up of [`Simulator::platform`] points here, never at kick.com.
    addr: std::net::SocketAddr,
    end: watch::Sender<bool>,
    /// Becomes true once the stream's last frame (offline) is handed to the clients.
    over: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Starts the server on a free loopback port and the stream.
    pub async fn start(options: SimulatorOptions) -> std::io::Result<Simulator> {
        let server = ScriptedServer::bind().await?;
        // The path carries the app key and the protocol query, as Kick's own does.
        let url = server.url(crate::PUSHER_APP_KEY);
        let addr = server.addr();
        let (stop, stopped) = watch::channel(false);
        let (end, ended) = watch::channel(false);
        let (finished, over) = watch::channel(false);
        let task = tokio::spawn(serve(server, options, ended, finished, stopped));
        Ok(Simulator {
            url,
            addr,
            end,
            over,
            stop,
            task,
        })
    }

    /// The WebSocket URL (app key included) to connect OnAir's Kick client to.
    pub fn pusher_url(&self) -> &str {
        &self.url
    }

    /// Kick as OnAir's client sees it, connected to this simulator. The demo channel's ids are known, so
    /// the look-up is never needed; it points at the simulator's loopback address, never at kick.com.
    pub fn platform(&self) -> Result<KickPlatform, PlatformError> {
        Ok(KickPlatform::new(
            KickRest::new(RestConfig::with_base_url(&format!("http://{}", self.addr)))?,
            PusherConfig::new(Endpoint::Url(self.url.clone())),
            None,
        ))
    }

    /// The demo channel as `onair run` names it: `kick:onair-demo@CHANNEL_ID/CHATROOM_ID`.
    pub fn watch_spec() -> WatchSpec {
        WatchSpec {
            slug: DEMO_SLUG.to_owned(),
            ids: Some(KickIds {
                channel_id: DEMO_CHANNEL_ID,
                chatroom_id: DEMO_CHATROOM_ID,
            }),
        }
    }

    /// The demo channel, with both its ids.
    pub fn channel() -> ChannelRef {
        let mut channel = ChannelRef::new(DEMO_CHANNEL_ID.to_string(), DEMO_SLUG);
        channel.chatroom_id = Some(DEMO_CHATROOM_ID.to_string());
        channel
    }

    /// Ends the stream and returns once the stream going offline is handed to every client; the server
    /// stays up, so they can close on their own terms, having received it.
    pub async fn end_stream(&self) {
        let _ = self.end.send(true);
        let mut over = self.over.clone();
        let _ = over.wait_for(|over| *over).await;
    }

    /// Ends the stream if it still runs, then the server (clients get a normal close).
    pub async fn stop(self) {
        let _ = self.end.send(true);
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// A frame for the clients subscribed to its feed.
struct Frame {
    feed: String,
    text: String,
}

async fn serve(
    mut server: ScriptedServer,
    options: SimulatorOptions,
    ended: watch::Receiver<bool>,
    finished: watch::Sender<bool>,
    mut stopped: watch::Receiver<bool>,
) {
    let (frames, _) = broadcast::channel::<Arc<Frame>>(1024);
    // The stream starts once a client listens to both the chatroom and the channel.
    let (tuned_in, listening) = watch::channel(false);
    let tuned_in = Arc::new(tuned_in);
    let generator = tokio::spawn(generate(frames.clone(), options, listening, ended, finished));
    let mut connections = tokio::task::JoinSet::new();
    let mut next_socket = 0u64;
    loop {
        tokio::select! {
            conn = server.accept() => {
                let Some(conn) = conn else { break };
                next_socket += 1;
                let socket_id = format!("{next_socket}.{}", 4242 + next_socket);
                connections.spawn(connection(conn, socket_id, frames.subscribe(), tuned_in.clone()));
            }
            _ = stopped.wait_for(|stop| *stop) => break,
        }
    }
    // The generator's sender is then the last: when it ends (after the stream went offline), every client
    // gets the last frames, then the end.
    drop(frames);
    let _ = generator.await;
    while connections.join_next().await.is_some() {}
}

/// One client: the handshake, its subscriptions and pings, and the stream's frames on its feeds, until the
/// stream ends (then a normal close).
async fn connection(
    mut conn: ServerConn,
    socket_id: String,
    mut frames: broadcast::Receiver<Arc<Frame>>,
    tuned_in: Arc<watch::Sender<bool>>,
) {
    let main_feeds = [chatroom_feed(), channel_feed()];
    if conn.establish(&socket_id, 120).await.is_err() {
        return;
    }
    let mut feeds = HashSet::new();
    loop {
        tokio::select! {
            frame = conn.recv() => {
                let Some(frame) = frame else { return };
                let channel = || frame.data.decode::<Value>().ok().and_then(|d| d["channel"].as_str().map(str::to_owned));
                let reply = match frame.event.as_str() {
                    "pusher:ping" => Some(r#"{"event":"pusher:pong","data":"{}"}"#.to_owned()),
                    "pusher:subscribe" => channel().map(|feed| {
                        feeds.insert(feed.clone());
                        if main_feeds.iter().all(|f| feeds.contains(f)) {
                            tuned_in.send_replace(true);
                        }
                        json!({ "event": "pusher_internal:subscription_succeeded", "channel": feed, "data": "{}" })
                            .to_string()
                    }),
                    "pusher:unsubscribe" => {
                        // Frames published before the unsubscribe are still this client's (a server
                        // would have sent them already).
                        while let Ok(frame) = frames.try_recv() {
                            if feeds.contains(&frame.feed) && conn.send_text(frame.text.clone()).await.is_err() {
                                return;
                            }
                        }
                        if let Some(feed) = channel() {
                            feeds.remove(&feed);
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(reply) = reply && conn.send_text(reply).await.is_err() {
                    return;
                }
            }
            frame = frames.recv() => match frame {
                Ok(frame) => {
                    if feeds.contains(&frame.feed) && conn.send_text(frame.text.clone()).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the simulator's client fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = conn.close(1000, "the simulator stopped").await;
                    return;
                }
            },
        }
    }
}

/// Plays the stream until stopped: live first, then a varied flow, then offline.
async fn generate(
    frames: broadcast::Sender<Arc<Frame>>,
    options: SimulatorOptions,
    mut listening: watch::Receiver<bool>,
    mut stopped: watch::Receiver<bool>,
    finished: watch::Sender<bool>,
) {
    let mut stream = Stream::new(options.seed);
    let mean_gap = 1.0 / options.events_per_second.clamp(0.01, 10_000.0);
    let send = |frame: Frame| {
        // No receiver yet (no client connected) is fine: a live stream does not wait for viewers.
        let _ = frames.send(Arc::new(frame));
    };
    tokio::select! {
        _ = listening.wait_for(|yes| *yes) => {}
        _ = stopped.wait_for(|stop| *stop) => {}
    }
    send(stream.live());
    loop {
        // Gaps between half and one and a half times the mean: a flow, not a metronome.
        let gap = mean_gap * (0.5 + stream.rng.f64());
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs_f64(gap)) => {}
            _ = stopped.wait_for(|stop| *stop) => break,
        }
        for frame in stream.next() {
            send(frame);
        }
    }
    send(stream.offline());
    finished.send_replace(true);
}

/// The stream's state: who is around, what was said, the counters.
struct Stream {
    rng: fastrand::Rng,
    livestream_id: u64,
    followers: u64,
    recent_messages: Vec<(String, String, String)>,
    timed_out: Vec<(u64, String)>,
    since_raid: u32,
}

const VIEWERS: [(&str, &str); 16] = [
    ("pixelwitch", "#FF9D00"),
    ("KEKW_enjoyer", "#75FD46"),
    ("bob", "#1475E1"),
    ("alice_k", "#E9113C"),
    ("модератор", "#B9D6F6"),
    ("日本のファン", "#FFD300"),
    ("ZedZero", "#DEB2FF"),
    ("café_noir", "#93EBFF"),
    ("lurker_ln", "#72ACED"),
    ("quietfox", "#FBCFD8"),
    ("Mika_Ch4n", "#BC66FF"),
    ("the_real_tom", "#FF6B6B"),
    ("سارا", "#00CCB3"),
    ("GenerousGary", "#FFAA33"),
    ("nightowl_88", "#A3FF00"),
    ("Zoë", "#FF66CC"),
];

const LINES: [&str; 16] = [
    "gg that clutch was insane 🔥🔥",
    "no way [emote:37226:KEKW]",
    "hello from Brazil! 🇧🇷",
    "what's the crosshair code?",
    "[emote:39261:kkHuh] [emote:305040:EZ]",
    "¡increíble! naïve café ☕",
    "日本語もOK 👍",
    "مرحبا بالجميع",
    "first time here, love the vibes",
    "LETS GOOO [emote:305040:EZ]",
    "is this ranked?",
    "that was close 😅",
    "W streamer",
    "can you show the settings after this round?",
    "Zalgo z̷̢a̴l̵g̶o̸ test",
    "lol 😂 [emote:37226:KEKW][emote:37226:KEKW]",
];

const CHEERS: [(&str, &str, u64); 3] = [
    ("hell_yeah", "Hell Yeah", 100),
    ("rage_quit", "Rage Quit", 500),
    ("full_send", "Full Send", 1000),
];

impl Stream {
    fn new(seed: u64) -> Stream {
        let mut rng = fastrand::Rng::with_seed(seed);
        Stream {
            livestream_id: 70_000_000 + rng.u64(0..1_000_000),
            followers: 12_000 + rng.u64(0..5_000),
            rng,
            recent_messages: Vec::new(),
            timed_out: Vec::new(),
            since_raid: 0,
        }
    }

    fn viewer(&mut self) -> (u64, &'static str, &'static str) {
        let i = self.rng.usize(0..VIEWERS.len());
        let (name, color) = VIEWERS[i];
        (19_283_700 + i as u64, name, color)
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.rng.u64(..), self.rng.u64(..));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    fn live(&mut self) -> Frame {
        channel_frame(
            r"App\Events\StreamerIsLive",
            json!({ "livestream": {
                "id": self.livestream_id, "channel_id": DEMO_CHANNEL_ID,
                "session_title": "OnAir demo stream: ranked grind 🎮 !discord",
                "source": null, "created_at": now(),
            }}),
        )
    }

    fn offline(&mut self) -> Frame {
        channel_frame(
            r"App\Events\StopStreamBroadcast",
            json!({ "livestream": { "id": self.livestream_id, "channel": { "id": DEMO_CHANNEL_ID, "is_banned": false } } }),
        )
    }

    /// The next moment of the stream: mostly chat, sometimes something else.
    fn next(&mut self) -> Vec<Frame> {
        self.since_raid += 1;
        let roll = self.rng.u32(0..1000);
        match roll {
            0..=689 => vec![self.chat()],
            690..=779 => vec![self.follow()],
            780..=839 => vec![self.subscription()],
            840..=869 => self.gift(),
            870..=909 => vec![self.kicks()],
            910..=939 => vec![self.timeout()],
            940..=954 => vec![self.unban()],
            955..=964 => vec![self.ban()],
            965..=984 => vec![self.delete()],
            _ if self.since_raid > 120 => {
                self.since_raid = 0;
                vec![self.raid()]
            }
            _ => vec![self.chat()],
        }
    }

    fn chat(&mut self) -> Frame {
        let (id, name, color) = self.viewer();
        let message_id = self.uuid();
        let mut badges = Vec::new();
        if self.rng.u8(0..3) == 0 {
            badges.push(json!({ "type": "subscriber", "text": "Subscriber", "count": self.rng.u32(1..36) }));
        }
        if name == "модератор" {
            badges.push(json!({ "type": "moderator", "text": "Moderator" }));
        }
        // A reply, now and then, to someone else's recent line.
        let others: Vec<usize> = (0..self.recent_messages.len())
            .filter(|&i| self.recent_messages[i].1 != name)
            .collect();
        let replying = !others.is_empty() && self.rng.u8(0..10) == 0;
        let mut data = json!({
            "id": message_id, "chatroom_id": DEMO_CHATROOM_ID, "type": "message", "created_at": now(),
            "sender": { "id": id, "username": name, "slug": slug(name), "identity": { "color": color, "badges": badges } },
            "metadata": { "message_ref": Utc::now().timestamp_millis().to_string() },
        });
        let content = if replying {
            let (original_id, original_name, original_text) =
                self.recent_messages[others[self.rng.usize(0..others.len())]].clone();
            data["type"] = json!("reply");
            data["metadata"]["original_sender"] = json!({ "id": 1, "username": original_name });
            data["metadata"]["original_message"] = json!({ "id": original_id, "content": original_text });
            format!("@{original_name} agreed 👍")
        } else {
            LINES[self.rng.usize(0..LINES.len())].to_owned()
        };
        data["content"] = json!(content);
        self.recent_messages.push((message_id, name.to_owned(), content));
        if self.recent_messages.len() > 20 {
            self.recent_messages.remove(0);
        }
        chatroom_frame(r"App\Events\ChatMessageEvent", data)
    }

    fn follow(&mut self) -> Frame {
        self.followers += 1;
        let (_, name, _) = self.viewer();
        channel_frame(
            r"App\Events\FollowersUpdated",
            json!({ "followersCount": self.followers, "channel_id": DEMO_CHANNEL_ID, "username": name,
                    "created_at": Utc::now().timestamp(), "followed": true }),
        )
    }

    fn subscription(&mut self) -> Frame {
        let (_, name, _) = self.viewer();
        chatroom_frame(
            r"App\Events\SubscriptionEvent",
            json!({ "chatroom_id": DEMO_CHATROOM_ID, "username": name, "months": self.rng.u32(1..25) }),
        )
    }

    /// A gift arrives twice, as on Kick: on the chatroom and, as the lucky users, on the channel.
    fn gift(&mut self) -> Vec<Frame> {
        let (_, gifter, _) = self.viewer();
        let count = [1, 1, 5, 5, 10][self.rng.usize(0..5)];
        let mut recipients: Vec<&str> = Vec::new();
        while recipients.len() < count.min(VIEWERS.len() - 1) {
            let (_, name, _) = self.viewer();
            if name != gifter && !recipients.contains(&name) {
                recipients.push(name);
            }
        }
        vec![
            chatroom_frame(
                r"App\Events\GiftedSubscriptionsEvent",
                json!({ "chatroom_id": DEMO_CHATROOM_ID, "gifted_usernames": recipients, "gifter_username": gifter,
                        "gifted_total": recipients.len(), "gifter_total": recipients.len() as u32 + self.rng.u32(0..50),
                        "chunk_details": null }),
            ),
            channel_frame(
                r"App\Events\LuckyUsersWhoGotGiftSubscriptionsEvent",
                json!({ "channel": { "id": DEMO_CHANNEL_ID, "user_id": DEMO_USER_ID, "slug": DEMO_SLUG,
                                     "chatroom": { "id": DEMO_CHATROOM_ID, "channel_id": DEMO_CHANNEL_ID } },
                        "usernames": recipients, "gifter_username": gifter }),
            ),
        ]
    }

    fn kicks(&mut self) -> Frame {
        let (id, name, color) = self.viewer();
        let (gift_id, gift_name, amount) = CHEERS[self.rng.usize(0..CHEERS.len())];
        Frame {
            feed: format!("channel_{DEMO_CHANNEL_ID}"),
            text: event_frame(
                &format!("channel_{DEMO_CHANNEL_ID}"),
                "KicksGifted",
                &json!({ "message": "W stream!! 🚀", "sender": { "id": id, "username": name, "username_color": color },
                         "gift": { "gift_id": gift_id, "name": gift_name, "amount": amount, "type": "BASIC",
                                   "tier": "BASIC", "character_limit": 50, "pinned_time": 0 } })
                .to_string(),
            ),
        }
    }

    fn timeout(&mut self) -> Frame {
        let (id, name, _) = self.viewer();
        let minutes = [1, 5, 10][self.rng.usize(0..3)];
        self.timed_out.push((id, name.to_owned()));
        let expires =
            (Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, false);
        chatroom_frame(
            r"App\Events\UserBannedEvent",
            json!({ "id": self.uuid(), "user": { "id": id, "username": name, "slug": slug(name) },
                    "banned_by": { "id": 3_321_907, "username": "mod_zephyr", "slug": "mod-zephyr" },
                    "permanent": false, "duration": minutes, "expires_at": expires }),
        )
    }

    fn unban(&mut self) -> Frame {
        let (id, name) = match self.timed_out.pop() {
            Some(who) => who,
            None => {
                let (id, name, _) = self.viewer();
                (id, name.to_owned())
            }
        };
        chatroom_frame(
            r"App\Events\UserUnbannedEvent",
            json!({ "id": self.uuid(), "user": { "id": id, "username": name, "slug": slug(&name) },
                    "unbanned_by": { "id": 3_321_907, "username": "mod_zephyr", "slug": "mod-zephyr" },
                    "permanent": false }),
        )
    }

    fn ban(&mut self) -> Frame {
        let n = self.rng.u32(1..10_000);
        let name = format!("spam_bot_{n}");
        chatroom_frame(
            r"App\Events\UserBannedEvent",
            json!({ "id": self.uuid(), "user": { "id": 88_000_000 + u64::from(n), "username": name, "slug": name.replace('_', "-") },
                    "banned_by": { "id": 0, "username": "OnAirDemo", "slug": DEMO_SLUG }, "permanent": true }),
        )
    }

    fn delete(&mut self) -> Frame {
        let target = match self.recent_messages.pop() {
            Some((id, _, _)) => id,
            None => self.uuid(),
        };
        chatroom_frame(
            r"App\Events\MessageDeletedEvent",
            json!({ "id": self.uuid(), "message": { "id": target }, "aiModerated": false, "violatedRules": [] }),
        )
    }

    fn raid(&mut self) -> Frame {
        chatroom_frame(
            r"App\Events\StreamHostEvent",
            json!({ "chatroom_id": DEMO_CHATROOM_ID, "optional_message": "Go show some love 💜",
                    "number_viewers": self.rng.u32(20..900), "host_username": "RaidLeader" }),
        )
    }
}

fn chatroom_feed() -> String {
    format!("chatrooms.{DEMO_CHATROOM_ID}.v2")
}

fn channel_feed() -> String {
    format!("channel.{DEMO_CHANNEL_ID}")
}

fn chatroom_frame(event: &str, data: Value) -> Frame {
    let feed = chatroom_feed();
    Frame {
        text: event_frame(&feed, event, &data.to_string()),
        feed,
    }
}

fn channel_frame(event: &str, data: Value) -> Frame {
    let feed = channel_feed();
    Frame {
        text: event_frame(&feed, event, &data.to_string()),
        feed,
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn slug(name: &str) -> String {
    name.to_lowercase().replace('_', "-")
}
