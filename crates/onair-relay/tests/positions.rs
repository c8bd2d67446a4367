//! What a client gets for a position the event log cannot have, against the real `socket.io-client`: a
//! negative `after` is refused as a bad request (and the client is not subscribed); an `after` past the end
//! of the stored events (from another database, or one replaced since) is reset to the relay's head, said
//! in the answer and by `position:reset`, and the client then gets every live event after the head, none
//! lost and none twice, even when events are published while the relay checks the position; a position
//! committed but not yet published is within the log and is not reset; and while the relay does not know
//! its head yet, such a position is refused with `not_ready` rather than guessed.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use onair_core::{Event, EventKind, Offset, Platform, sample};
use onair_relay::{Relay, RelayOptions, StoredEvents};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

#[path = "support/relay_client.rs"]
mod relay_client;
use relay_client::{Client, TOKEN};

/// A committed follow at `offset`.
fn follow(offset: i64) -> Event {
    let mut event = sample::every_kind(Platform::Twitch)
        .into_iter()
        .find(|e| e.kind() == EventKind::Follow)
        .unwrap();
    event.offset = Some(Offset(offset));
    event
}

/// Stored events; with `gated`, every read says when it is asked for and waits until the test lets it
/// answer (so the test can commit and publish while the relay reads).
struct Stored {
    events: Mutex<Vec<Event>>,
    asked: Option<mpsc::UnboundedSender<i64>>,
    gate: Semaphore,
}

impl Stored {
    /// Offsets `1..=last` stored, reads answered at once.
    fn up_to(last: i64) -> Arc<Stored> {
        Arc::new(Stored {
            events: Mutex::new((1..=last).map(follow).collect()),
            asked: None,
            gate: Semaphore::new(Semaphore::MAX_PERMITS),
        })
    }

    /// Offsets `1..=last` stored, each read waiting for the test; the receiver says which read is waiting.
    fn gated(last: i64) -> (Arc<Stored>, mpsc::UnboundedReceiver<i64>) {
        let (asked, reads) = mpsc::unbounded_channel();
        let stored = Arc::new(Stored {
            events: Mutex::new((1..=last).map(follow).collect()),
            asked: Some(asked),
            gate: Semaphore::new(0),
        });
        (stored, reads)
    }

    /// Commits a follow at `offset` and publishes it.
    fn commit(&self, relay: &Relay, offset: i64) {
        let event = follow(offset);
        self.events.lock().unwrap().push(event.clone());
        relay.publish(&event);
    }
}

#[async_trait]
impl StoredEvents for Stored {
    async fn after(&self, after: Offset, limit: u32) -> Result<Vec<Event>, String> {
        if let Some(asked) = &self.asked {
            let _ = asked.send(after.0);
        }
        self.gate.acquire().await.map_err(|e| e.to_string())?.forget();
        let events = self.events.lock().unwrap();
        Ok(events
            .iter()
            .filter(|e| e.offset.unwrap() > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

async fn start(stored: Arc<Stored>) -> Relay {
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = "127.0.0.1:0".parse().unwrap();
    Relay::start(options, Some(stored)).await.unwrap()
}

/// What a client reported after connecting: the answers to its requests, the offsets of its events, and
/// every other line in order (events included).
struct Heard {
    client: Client,
    answers: Vec<Value>,
    events: Vec<i64>,
    /// Each line other than an answer, as `(what, value)`, in order.
    lines: Vec<(String, Value)>,
}

impl Heard {
    /// Waits for the client to connect.
    async fn connected(mut client: Client) -> Heard {
        client.expect("connected").await;
        Heard {
            client,
            answers: Vec::new(),
            events: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Reads one line; returns what it says.
    async fn read(&mut self) -> (String, Value) {
        let line = self.client.next().await;
        let (what, value) = line.as_object().unwrap().iter().next().unwrap();
        let (what, value) = (what.clone(), value.clone());
        match what.as_str() {
            "subscribed" | "resumed" => self.answers.push(value.clone()),
            "event" => {
                self.events.push(value["offset"].as_i64().unwrap());
                self.lines.push((what.clone(), value.clone()));
            }
            _ => self.lines.push((what.clone(), value.clone())),
        }
        (what, value)
    }

    /// Reads until the client says `what` (an answer: `subscribed` or `resumed`), returning its value.
    async fn until(&mut self, what: &str) -> Value {
        loop {
            let (said, value) = self.read().await;
            if said == what {
                return value;
            }
        }
    }

    /// Shuts the relay down and reads until the notice, which follows everything sent before it.
    async fn until_shutdown(&mut self, relay: Relay) {
        relay.shutdown(Duration::from_millis(200)).await;
        self.until("shutdown").await;
    }

    /// The position of the first line saying `what`.
    fn first(&self, what: &str) -> Option<usize> {
        self.lines.iter().position(|(w, _)| w == what)
    }

    /// Every line saying `what`.
    fn all(&self, what: &str) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|(w, _)| w == what)
            .map(|(_, v)| v)
            .collect()
    }

    /// The answer says the position was reset from `requested` to `head`, `position:reset` says it once
    /// before any event, then `replay:done` at the head.
    fn assert_reset(&self, answer: &Value, requested: i64, head: i64) {
        let reset = json!({ "requested": requested, "head": head });
        assert_eq!(answer["ok"], true, "{answer}");
        assert_eq!(answer["reset"], reset, "{answer}");
        assert_eq!(self.all("position_reset"), [&reset], "{self:?}");
        assert_eq!(
            self.all("replay_done"),
            [&json!({ "last_offset": head })],
            "{self:?}"
        );
        let announced = self.first("position_reset").unwrap();
        assert!(announced < self.first("replay_done").unwrap(), "{self:?}");
        if let Some(event) = self.first("event") {
            assert!(announced < event, "the reset comes before any event: {self:?}");
        }
    }
}

impl std::fmt::Debug for Heard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heard")
            .field("answers", &self.answers)
            .field("lines", &self.lines)
            .finish()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_past_the_end_is_reset_to_the_head_and_every_later_event_comes_once() {
    for separate in [false, true] {
        let stored = Stored::up_to(10);
        let relay = start(stored.clone()).await;
        relay.set_head(Offset(10));
        let mut heard = Heard::connected(Client::spawn(
            &relay,
            &[TOKEN, r#"{"kinds": ["follow"]}"#, "500"],
            &[("ONAIR_TEST_SEPARATE_RESUME", if separate { "1" } else { "0" })],
        ))
        .await;
        // Events committed once the client is live again come, each once (12 is published twice).
        heard.until("replay_done").await;
        stored.commit(&relay, 11);
        stored.commit(&relay, 12);
        relay.publish(&follow(12));
        heard.until_shutdown(relay).await;
        let answer = heard.answers.last().unwrap().clone();
        heard.assert_reset(&answer, 500, 10);
        if separate {
            assert_eq!(heard.answers[0]["ok"], true, "{heard:?}");
        } else {
            assert_eq!(
                answer["head"], 10,
                "the answer's head is the new position: {answer}"
            );
        }
        assert_eq!(heard.events, [11, 12], "separate resume: {separate}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_published_while_the_position_is_checked_are_before_the_head_the_client_is_given() {
    // The store ends at 10; while the relay reads it to check position 500, 11 and 12 are committed and
    // published. The reset must name 12, the head when the client goes live: naming 10 would hide 11 and
    // 12 from a client that believes it has everything up to its position.
    let (stored, mut reads) = Stored::gated(10);
    let relay = Arc::new(start(stored.clone()).await);
    relay.set_head(Offset(10));
    let mut heard = Heard::connected(Client::start_resuming(&relay, "{}", "500")).await;
    assert_eq!(
        reads.recv().await,
        Some(499),
        "the position is checked in the store"
    );
    stored.commit(&relay, 11);
    stored.commit(&relay, 12);
    stored.gate.add_permits(1);
    heard.until("replay_done").await;
    stored.commit(&relay, 13);
    heard.until_shutdown(Arc::into_inner(relay).unwrap()).await;
    let answer = heard.answers[0].clone();
    heard.assert_reset(&answer, 500, 12);
    assert_eq!(answer["head"], 12, "{answer}");
    assert_eq!(heard.events, [13]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_committed_but_not_yet_published_is_within_the_log() {
    // The store holds 12 but the relay was told of 10 only (its feed lags): position 12 is real.
    let stored = Stored::up_to(12);
    let relay = start(stored.clone()).await;
    relay.set_head(Offset(10));
    let mut heard = Heard::connected(Client::start_resuming(&relay, "{}", "12")).await;
    assert_eq!(heard.until("replay_done").await, json!({ "last_offset": 12 }));
    // The feed catches up (11, 12: the client has them), then 13.
    relay.publish(&follow(11));
    relay.publish(&follow(12));
    stored.commit(&relay, 13);
    heard.until_shutdown(relay).await;
    assert_eq!(heard.events, [13]);
    assert!(heard.first("position_reset").is_none(), "{heard:?}");
    assert!(heard.answers[0].get("reset").is_none(), "{heard:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_position_is_refused_and_subscribes_nothing() {
    for separate in [false, true] {
        let stored = Stored::up_to(3);
        let relay = start(stored.clone()).await;
        relay.set_head(Offset(3));
        let mut heard = Heard::connected(Client::spawn(
            &relay,
            &[TOKEN, "{}", "-1"],
            &[("ONAIR_TEST_SEPARATE_RESUME", if separate { "1" } else { "0" })],
        ))
        .await;
        let refusal = heard.until(if separate { "resumed" } else { "subscribed" }).await;
        assert_eq!(refusal["ok"], false, "{refusal}");
        assert_eq!(refusal["error"]["code"], "bad_request", "{refusal}");
        let message = refusal["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("never negative") && message.contains("-1"),
            "{message}"
        );
        stored.commit(&relay, 4);
        heard.until_shutdown(relay).await;
        assert_eq!(
            heard.all("error")[0]["code"],
            "bad_request",
            "the refusal is also emitted: {heard:?}"
        );
        assert!(heard.first("replay_done").is_none(), "{heard:?}");
        if separate {
            // Subscribed (live) before the refused resume: the live event still comes, once.
            assert_eq!(heard.events, [4], "{heard:?}");
        } else {
            assert!(heard.events.is_empty(), "not subscribed: {heard:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_past_the_end_before_the_head_is_known_is_refused_until_it_is() {
    let stored = Stored::up_to(3);
    let relay = start(stored.clone()).await;
    let mut early = Heard::connected(Client::start_resuming(&relay, "{}", "50")).await;
    let answer = early.until("subscribed").await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["error"]["code"], "not_ready", "{answer}");
    // Once the relay knows its head, the same request is reset to it.
    relay.set_head(Offset(3));
    let mut later = Heard::connected(Client::start_resuming(&relay, "{}", "50")).await;
    later.until("replay_done").await;
    stored.commit(&relay, 4);
    later.until_shutdown(relay).await;
    let answer = later.answers[0].clone();
    later.assert_reset(&answer, 50, 3);
    assert_eq!(later.events, [4]);
    early.until("shutdown").await;
    assert!(early.events.is_empty(), "{early:?}");
}
