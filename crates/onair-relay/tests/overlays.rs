//! The relay's ready-made overlays in a real browser: headless Debian Chromium, driven by playwright-core
//! (the overlays' npm project, installed by `cargo xtask setup`) through `overlays/test/driver.mjs`. The
//! alerts overlay shows a published follow naming the follower, and after the relay restarts on the same
//! port shows every alert committed meanwhile exactly once, in order; a page whose `after` is past the end
//! of the relay's log takes the relay's head as its position and shows what comes next; the chat overlay
//! shows emotes as images and a message's markup as text; a wrong token is said on the page. The files are
//! served with their types and cache headers. Screenshots go to `target/tmp/overlay-artifacts/`.
//!
//! Without Chromium these tests say loudly that they skip, except on CI (`CI` set), where they fail.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use onair_core::{
    Actor, Badge, ChatMessage, Emote, Event, EventData, EventKind, Offset, Platform, ReplyTo, sample,
};
use onair_relay::{Relay, RelayOptions, StoredEvents};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "support/overlay_driver.rs"]
mod overlay_driver;

use overlay_driver::{OverlayDriver, chromium};

const TOKEN: &str = "overlay-test-token";

/// Where the screenshots go.
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("overlay-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Stored events in memory: what the relay replays from when a client resumes.
#[derive(Default)]
struct Memory {
    events: Mutex<Vec<Event>>,
}

#[async_trait]
impl StoredEvents for Memory {
    async fn after(&self, after: Offset, limit: u32) -> Result<Vec<Event>, String> {
        let events = self.events.lock().unwrap();
        Ok(events
            .iter()
            .filter(|e| e.offset.unwrap() > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

impl Memory {
    /// Commits `event` (the next offset) and publishes it on `relay`, if one runs; returns the offset.
    fn commit(&self, relay: Option<&Relay>, mut event: Event) -> i64 {
        let mut events = self.events.lock().unwrap();
        let offset = events.len() as i64 + 1;
        event.offset = Some(Offset(offset));
        events.push(event.clone());
        drop(events);
        if let Some(relay) = relay {
            relay.publish(&event);
        }
        offset
    }
}

async fn start_relay(stored: &Arc<Memory>, addr: SocketAddr) -> Relay {
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = addr;
    Relay::start(options, Some(stored.clone() as Arc<dyn StoredEvents>))
        .await
        .unwrap()
}

/// An event of `kind` on `platform` (the sample's data) by `actor`.
fn event(platform: Platform, kind: EventKind, actor: Option<&str>) -> Event {
    let mut event = sample::every_kind(platform)
        .into_iter()
        .find(|e| e.kind() == kind)
        .unwrap();
    event.actor = actor.map(|name| Actor::new(format!("id-{name}"), name));
    event
}

fn chat(platform: Platform, actor: &str, text: &str, emotes: &[(&str, &str)]) -> Event {
    let mut event = event(platform, EventKind::ChatMessage, Some(actor));
    event.source_id = Some(format!("chat:{actor}-{}", text.len()));
    event.data = EventData::ChatMessage(ChatMessage {
        text: text.into(),
        emotes: emotes
            .iter()
            .map(|(id, name)| Emote {
                id: (*id).into(),
                name: (*name).into(),
            })
            .collect(),
        badges: Vec::new(),
        color: None,
        reply_to: None,
        room_id: None,
    });
    event
}

/// The driver (node + playwright-core + Chromium), and what it has reported.
struct Driver {
    inner: OverlayDriver,
    /// Each page's latest state.
    states: HashMap<String, String>,
    /// Every alert or chat line shown, in order: (page, what the driver said).
    shown: Vec<(String, Value)>,
}

impl Driver {
    fn start(chromium: &Path) -> Driver {
        Driver {
            inner: OverlayDriver::start(chromium),
            states: HashMap::new(),
            shown: Vec::new(),
        }
    }

    async fn send(&mut self, command: Value) {
        self.inner.send(command).await;
    }

    /// The next line, after noting states and shown lines; a page or driver error fails the test.
    async fn next(&mut self) -> Value {
        let line = self.inner.next().await;
        if let Some(state) = line.get("state") {
            self.states.insert(
                state["page"].as_str().unwrap().to_owned(),
                state["state"].as_str().unwrap().to_owned(),
            );
        }
        if let Some(shown) = line.get("shown") {
            self.shown
                .push((shown["page"].as_str().unwrap().to_owned(), shown.clone()));
        }
        line
    }

    /// Reads until a line with `key`, and returns its value.
    async fn until(&mut self, key: &str) -> Value {
        loop {
            if let Some(value) = self.next().await.get(key) {
                return value.clone();
            }
        }
    }

    /// Opens `page` at `url`; returns its state and notice once it is live or has failed.
    async fn open(&mut self, page: &str, url: &str, size: (u32, u32)) -> (String, Option<String>) {
        self.send(json!({"cmd": "open", "page": page, "url": url, "width": size.0, "height": size.1}))
            .await;
        let line = self.until("opened").await;
        let state = line["state"].as_str().unwrap().to_owned();
        self.states.insert(page.to_owned(), state.clone());
        (state, line["notice"].as_str().map(str::to_owned))
    }

    /// Waits until `page` is in `state`.
    async fn state(&mut self, page: &str, state: &str) {
        while self.states.get(page).map(String::as_str) != Some(state) {
            self.next().await;
        }
    }

    /// Waits until `page` has shown the event at `offset`, and returns what it showed.
    async fn shown(&mut self, page: &str, offset: i64) -> Value {
        loop {
            let found = self
                .shown
                .iter()
                .find(|(p, s)| p == page && s["offset"] == offset);
            if let Some((_, shown)) = found {
                return shown.clone();
            }
            self.next().await;
        }
    }

    /// The offsets `page` has shown, in order.
    fn offsets(&self, page: &str) -> Vec<i64> {
        self.shown
            .iter()
            .filter(|(p, _)| p == page)
            .map(|(_, s)| s["offset"].as_i64().unwrap())
            .collect()
    }

    async fn eval(&mut self, page: &str, expr: &str) -> Value {
        self.send(json!({"cmd": "eval", "page": page, "expr": expr}))
            .await;
        self.until("eval").await
    }

    async fn screenshot(&mut self, page: &str, name: &str, selector: &str) {
        let path = artifacts().join(name);
        self.send(json!({"cmd": "screenshot", "page": page, "path": path, "selector": selector}))
            .await;
        self.until("screenshot").await;
        eprintln!("screenshot: {}", path.display());
    }

    async fn quit(mut self) {
        self.send(json!({"cmd": "quit"})).await;
        self.until("quit").await;
    }
}

fn url(relay: &Relay, overlay: &str, query: &str) -> String {
    format!("http://{}/overlays/{overlay}?{query}", relay.local_addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_show_every_alert_once_in_order_across_a_relay_restart() {
    let Some(chromium) = chromium() else { return };
    let stored = Arc::new(Memory::default());
    let relay = start_relay(&stored, "127.0.0.1:0".parse().unwrap()).await;
    let addr = relay.local_addr();
    let mut driver = Driver::start(&chromium);
    let query = format!("token={TOKEN}&platforms=kick,twitch&duration=1");
    let opened = driver
        .open("alerts", &url(&relay, "alerts", &query), (1920, 1080))
        .await;
    assert_eq!(opened, ("live".into(), None));
    // A second page, showing subscriptions only, for long enough to look at.
    let query = format!("token={TOKEN}&kinds=subscription&duration=30");
    let opened = driver
        .open("showcase", &url(&relay, "alerts", &query), (1920, 1080))
        .await;
    assert_eq!(opened.0, "live");

    let first = stored.commit(
        Some(&relay),
        event(Platform::Twitch, EventKind::Follow, Some("pixelwitch")),
    );
    // A page that shows nothing before the restart still resumes from where it started (the relay's head).
    let query = format!("token={TOKEN}&kinds=raid&duration=1");
    let opened = driver
        .open("quiet", &url(&relay, "alerts", &query), (1920, 1080))
        .await;
    assert_eq!(opened.0, "live");
    let shown = driver.shown("alerts", first).await;
    let text = shown["text"].as_str().unwrap();
    assert!(
        text.contains("pixelwitch") && text.contains("just followed"),
        "{shown}"
    );

    let mut resub = event(Platform::Kick, EventKind::Subscription, Some("NebulaFan"));
    if let EventData::Subscription(sub) = &mut resub.data {
        sub.months = Some(14);
        sub.tier = None;
        sub.message = Some("14 months of clutches [emote:37226:KEKW] let's go".into());
    }
    let resub = stored.commit(Some(&relay), resub);
    let shown = driver.shown("showcase", resub).await;
    assert_eq!(
        shown["imgs"],
        json!(["https://files.kick.com/emotes/37226/fullsize"])
    );
    assert!(
        shown["text"]
            .as_str()
            .unwrap()
            .contains("subscribed for 14 months"),
        "{shown}"
    );
    driver.screenshot("showcase", "alerts.png", ".alert").await;
    driver.send(json!({"cmd": "close", "page": "showcase"})).await;
    driver.until("closed").await;

    // The relay goes away; alerts happen meanwhile; it comes back on the same port with the same store.
    relay.shutdown(Duration::from_millis(200)).await;
    driver.state("alerts", "disconnected").await;
    let mut gifted_sub = event(Platform::Twitch, EventKind::Subscription, Some("giftee"));
    if let EventData::Subscription(sub) = &mut gifted_sub.data {
        sub.is_gift = true;
    }
    let mut bits = event(Platform::Twitch, EventKind::Cheer, Some("bitsy"));
    bits.data = EventData::Cheer(onair_core::Cheer {
        amount: 500,
        currency: onair_core::Currency::Bits,
        message: None,
    });
    let missed = [
        event(Platform::Kick, EventKind::Follow, Some("late_follower")),
        event(Platform::Twitch, EventKind::SubscriptionGift, Some("generous")),
        // Covered by the gift's alert: not an alert of its own.
        gifted_sub,
        event(Platform::Kick, EventKind::Raid, Some("raidleader")),
        event(Platform::Kick, EventKind::Cheer, None),
        bits,
        // Not an alert kind: the page never asks for it.
        event(Platform::Twitch, EventKind::ChatMessage, Some("chatter")),
    ];
    let missed: Vec<i64> = missed.into_iter().map(|e| stored.commit(None, e)).collect();
    let relay = start_relay(&stored, addr).await;
    // Published before the page is back or during its replay: either way once.
    let during = stored.commit(
        Some(&relay),
        event(Platform::Twitch, EventKind::Follow, Some("right_after")),
    );
    driver.state("alerts", "live").await;
    let live = stored.commit(
        Some(&relay),
        event(Platform::Kick, EventKind::Follow, Some("back_live")),
    );
    let shown = driver.shown("alerts", live).await;
    assert!(shown["text"].as_str().unwrap().contains("back_live"));
    let raid = missed[3];
    let shown = driver.shown("quiet", raid).await;
    assert!(shown["text"].as_str().unwrap().contains("raidleader"), "{shown}");
    assert_eq!(
        driver.offsets("quiet"),
        vec![raid],
        "the quiet page's one alert, once"
    );

    let expected: Vec<i64> = [first, resub]
        .into_iter()
        .chain(
            missed
                .iter()
                .copied()
                .filter(|&o| o != missed[2] && o != missed[6]),
        )
        .chain([during, live])
        .collect();
    assert_eq!(driver.offsets("alerts"), expected, "each alert once, in order");
    let texts: Vec<String> = driver
        .shown
        .iter()
        .filter(|(p, _)| p == "alerts")
        .map(|(_, s)| s["text"].as_str().unwrap().replace('\n', " "))
        .collect();
    for (text, words) in texts[2..].iter().zip([
        &["late_follower", "just followed"][..],
        &["generous", "gifted 2 Tier 1 subs to bob, zedzero!"],
        &["raidleader", "is raiding with"],
        &["Anonymous", "sent 100 Kicks!"],
        &["bitsy", "cheered 500 bits!"],
        &["right_after"],
        &["back_live"],
    ]) {
        assert!(words.iter().all(|w| text.contains(w)), "{words:?} in {text}");
    }
    driver.quit().await;
    relay.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_position_is_past_the_end_of_the_log_continues_from_the_head() {
    let Some(chromium) = chromium() else { return };
    // The page was made for another database (after=500); this one ends at 3.
    let stored = Arc::new(Memory::default());
    for name in ["a", "b", "c"] {
        stored.commit(None, event(Platform::Kick, EventKind::Follow, Some(name)));
    }
    let relay = start_relay(&stored, "127.0.0.1:0".parse().unwrap()).await;
    relay.set_head(Offset(3));
    let mut driver = Driver::start(&chromium);
    let query = format!("token={TOKEN}&duration=1&after=500");
    let opened = driver
        .open("alerts", &url(&relay, "alerts", &query), (1280, 720))
        .await;
    assert_eq!(opened, ("live".into(), None));
    let next = stored.commit(
        Some(&relay),
        event(Platform::Kick, EventKind::Follow, Some("after_the_reset")),
    );
    let shown = driver.shown("alerts", next).await;
    assert!(
        shown["text"].as_str().unwrap().contains("after_the_reset"),
        "{shown}"
    );
    assert_eq!(
        driver.offsets("alerts"),
        vec![next],
        "nothing from before the head"
    );
    driver.quit().await;
    relay.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_shows_emotes_as_images_and_markup_as_text() {
    let Some(chromium) = chromium() else { return };
    let stored = Arc::new(Memory::default());
    let relay = start_relay(&stored, "127.0.0.1:0".parse().unwrap()).await;
    let mut driver = Driver::start(&chromium);
    let query = format!("token={TOKEN}&lines=6");
    let opened = driver
        .open("chat", &url(&relay, "chat", &query), (720, 1080))
        .await;
    assert_eq!(opened, ("live".into(), None));

    let markup = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\"> so good";
    let hostile = stored.commit(
        Some(&relay),
        chat(
            Platform::Kick,
            "pixelwitch",
            &format!("{markup} [emote:37226:KEKW]"),
            &[("37226", "KEKW")],
        ),
    );
    let shown = driver.shown("chat", hostile).await;
    assert_eq!(
        shown["imgs"],
        json!(["https://files.kick.com/emotes/37226/fullsize"])
    );
    assert!(shown["text"].as_str().unwrap().contains(markup), "{shown}");
    assert_eq!((&shown["scripts"], &shown["handlers"]), (&json!(0), &json!(0)));
    assert_eq!(driver.eval("chat", "window.pwned === undefined").await, true);

    let mut twitch = chat(
        Platform::Twitch,
        "KappaKing",
        "Kappa that was close Kappa",
        &[("25", "Kappa")],
    );
    if let EventData::ChatMessage(message) = &mut twitch.data {
        message.badges = vec![
            Badge {
                kind: "moderator".into(),
                count: None,
            },
            Badge {
                kind: "subscriber".into(),
                count: Some(24),
            },
        ];
        message.color = Some("#1E90FF".into());
    }
    let twitch = stored.commit(Some(&relay), twitch);
    let shown = driver.shown("chat", twitch).await;
    let kappa = "https://static-cdn.jtvnw.net/emoticons/v2/25/default/dark/1.0";
    assert_eq!(shown["imgs"], json!([kappa, kappa]));
    assert!(shown["text"].as_str().unwrap().contains("that was close"));

    // More lines than the box keeps, and a moderator's deletion.
    let mut reply = chat(
        Platform::Kick,
        "alice_k",
        "ranked grind tonight? [emote:39261:kkHuh]",
        &[("39261", "kkHuh")],
    );
    if let EventData::ChatMessage(message) = &mut reply.data {
        message.reply_to = Some(ReplyTo {
            message_id: "5e8d1b20".into(),
            login: "KappaKing".into(),
            text: "Kappa that was close Kappa".into(),
        });
        message.badges = vec![Badge {
            kind: "og".into(),
            count: None,
        }];
        message.color = Some("#FF9D00".into());
    }
    let deleted = chat(Platform::Twitch, "spammer", "buy followers at …", &[]);
    let deleted_id = deleted.source_id.clone().unwrap().replace("chat:", "");
    let lines = [
        chat(Platform::Kick, "日本のファン", "ナイス！ 🔥🔥", &[]),
        deleted,
        reply,
        chat(
            Platform::Twitch,
            "café_noir",
            "naïve question: what crosshair is that?",
            &[],
        ),
        chat(
            Platform::Kick,
            "ZedZero",
            "[emote:305040:EZ] [emote:37226:KEKW]",
            &[("305040", "EZ"), ("37226", "KEKW")],
        ),
    ];
    let mut last = 0;
    for line in lines {
        last = stored.commit(Some(&relay), line);
    }
    driver.shown("chat", last).await;
    let mut deletion = event(Platform::Twitch, EventKind::MessageDeleted, None);
    deletion.data = EventData::MessageDeleted(onair_core::MessageRef {
        message_id: deleted_id,
    });
    stored.commit(Some(&relay), deletion);
    driver
        .send(json!({"cmd": "wait", "page": "chat", "expr": "!document.body.innerText.includes('buy followers')"}))
        .await;
    driver.until("waited").await;
    driver
        .send(json!({"cmd": "count", "page": "chat", "selector": ".line"}))
        .await;
    let count = driver.until("count").await;
    assert_eq!(count, 5, "six kept, one deleted");
    driver.screenshot("chat", "chat.png", ".line").await;
    driver.quit().await;
    relay.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_token_is_said_on_the_page() {
    let Some(chromium) = chromium() else { return };
    let stored = Arc::new(Memory::default());
    let relay = start_relay(&stored, "127.0.0.1:0".parse().unwrap()).await;
    let mut driver = Driver::start(&chromium);
    let (state, notice) = driver
        .open(
            "wrong",
            &url(&relay, "alerts", "token=not-the-token"),
            (1280, 720),
        )
        .await;
    assert_eq!(state, "unauthorized", "{notice:?}");
    let notice = notice.unwrap();
    assert!(notice.contains("refused the token (unauthorized)"), "{notice}");
    driver
        .screenshot("wrong", "unauthorized.png", "#onair-notice")
        .await;
    let (state, notice) = driver
        .open("none", &url(&relay, "chat", "platforms=kick"), (1280, 720))
        .await;
    assert_eq!(state, "failed");
    assert!(notice.unwrap().contains("No token in the URL"));
    assert_eq!(relay.clients(), 0);
    driver.quit().await;
    relay.shutdown(Duration::from_millis(100)).await;
}

/// A plain HTTP/1.1 request: the status, the headers (lower-case names) and the body.
async fn get(addr: SocketAddr, path: &str, extra: &str) -> (u16, HashMap<String, String>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, response[split + 4..].to_vec())
}

#[tokio::test]
async fn overlay_files_are_served_with_their_types_and_cache_headers() {
    let stored = Arc::new(Memory::default());
    let relay = start_relay(&stored, "127.0.0.1:0".parse().unwrap()).await;
    let addr = relay.local_addr();
    for (path, kind) in [
        ("/overlays/alerts?token=x", "text/html"),
        ("/overlays/chat", "text/html"),
        ("/overlays/chat.js", "text/javascript"),
        ("/overlays/common.css", "text/css"),
        ("/overlays/socket.io.min.js", "text/javascript"),
    ] {
        let (status, headers, body) = get(addr, path, "").await;
        assert_eq!(status, 200, "{path}");
        assert!(headers["content-type"].starts_with(kind), "{path}: {headers:?}");
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(
            headers.contains_key("content-security-policy"),
            kind == "text/html",
            "{path}"
        );
        assert!(!body.is_empty());
        // Unchanged: not sent again.
        let etag = &headers["etag"];
        let (status, _, body) = get(addr, path, &format!("If-None-Match: {etag}\r\n")).await;
        assert_eq!((status, body.len()), (304, 0), "{path}");
    }
    let (_, _, client) = get(addr, "/overlays/socket.io.min.js", "").await;
    assert!(
        !String::from_utf8_lossy(&client).contains("lacks its Socket.IO client"),
        "this build has no Socket.IO client for the overlays: run `cargo xtask setup`, then build again"
    );
    let (status, _, _) = get(addr, "/overlays/nothing.js", "").await;
    assert_eq!(status, 404);
    relay.shutdown(Duration::from_millis(100)).await;
}
