//! One client's session on the relay: its requests (`subscribe`, `unsubscribe`, `resume`) and their limits,
//! its filter and its cursor in the event log, and the sending of each event to it. A resume replays the
//! matching stored events after the client's offset while live events wait in its cursor; each is then
//! sent once, in offset order, and `replay:done` marks the seam. A position past the end of the stored
//! events (from another database, or one replaced since) is reset to the head: the client is told
//! (`reset` in the answer, `position:reset`) and continues from there, as if it had subscribed at the head.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use onair_core::{Event, Offset};
use serde_json::value::RawValue;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::{SendError, SocketError};

use crate::RelayOptions;
use crate::clients::Tracked;
use crate::metric;
use crate::protocol::{
    FailureCode, Filter, PositionReset, RateLimited, RelayFailure, ReplayDone, RequestAnswer, ResumeRequest,
    SubscribeRequest,
};

/// Where the relay reads stored events, for clients that resume (the hub's store).
#[async_trait]
pub trait StoredEvents: Send + Sync {
    /// Up to `limit` committed events after `after`, oldest first; the error is a sentence for the log.
    async fn after(&self, after: Offset, limit: u32) -> Result<Vec<Event>, String>;
}

/// A client's subscription, kept on its socket (shared: every publish reads it for every client).
#[derive(Debug, Clone)]
pub(crate) struct Subscribed(pub(crate) Arc<Filter>);

/// The offset of the last event published or known committed (-1 while unknown), shared by the relay and
/// every socket.
#[derive(Debug, Clone, Default)]
pub(crate) struct Head(pub(crate) Arc<std::sync::atomic::AtomicI64>);

impl Head {
    pub(crate) fn unknown() -> Head {
        Head(Arc::new(std::sync::atomic::AtomicI64::new(-1)))
    }

    /// Moves the head up to `offset` (never down).
    pub(crate) fn reach(&self, offset: i64) {
        self.0.fetch_max(offset, Ordering::SeqCst);
    }

    /// The head, when known.
    pub(crate) fn get(&self) -> Option<i64> {
        Some(self.0.load(Ordering::SeqCst)).filter(|&h| h >= 0)
    }
}

/// The stored events, kept on each socket for its resume, with the page size.
#[derive(Clone)]
pub(crate) struct Stored(pub(crate) Arc<dyn StoredEvents>, pub(crate) u32);

/// Where a client is in the event log: the last offset it was sent (or that a replay passed), and while it
/// replays, the live events waiting for the replay to end.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    delivered: i64,
    replaying: bool,
    waiting: Vec<(i64, Box<RawValue>)>,
}

/// A client's cursor, shared by the publisher and its replay.
#[derive(Debug, Clone, Default)]
pub(crate) struct CursorHandle(Arc<Mutex<Cursor>>);

impl CursorHandle {
    fn lock(&self) -> MutexGuard<'_, Cursor> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Cursor {
    /// A replay from `after` begins: live events wait from now on.
    fn start_replay(&mut self, after: i64) {
        self.replaying = true;
        self.delivered = after.max(0);
        self.waiting.clear();
    }

    /// A replay that broke off: nothing waits any more (the client is disconnected to resume).
    fn abandon_replay(&mut self) {
        self.replaying = false;
        self.waiting.clear();
    }

    /// The client's position is reset to `head`: nothing is replayed, every event after `head` is sent.
    fn reset_to(&mut self, head: i64) {
        self.replaying = false;
        self.waiting.clear();
        self.delivered = head;
    }
}

/// How a request that gives a position (`after`) goes on once the position is checked.
enum Start {
    /// Replay the stored events after the position, then go live.
    Replay,
    /// The position is past the end of the event log: continue from the head.
    Reset(PositionReset),
    /// The position is past the end of the stored events and the head is not known yet (nothing was
    /// published since the relay started, and the hub has not said where the log ends): the client cannot
    /// be told where it is, so the request is refused for now.
    NotReady,
}

/// Whether nothing is stored at or after `after`: the client's position is past the end of the event log
/// (it came from another database, or the database was replaced). A position at or before the relay's head
/// is within the log without a read; one past it may still be stored (committed, not yet published), so the
/// store is asked.
async fn past_the_end(stored: &Stored, head: Option<i64>, after: i64) -> Result<bool, String> {
    if after == 0 || head.is_some_and(|head| after <= head) {
        return Ok(false);
    }
    let first = stored.0.after(Offset(after - 1), 1).await?;
    Ok(first.is_empty())
}

/// How a request with position `after` starts, given whether the store ends before it (`past`). The head
/// is read after the store: every event published before the read is at or below it, and waits in the
/// cursor (dropped by a reset); every later one is past it, and goes to the client once it is live.
fn start(socket: &SocketRef, past: bool, after: i64) -> Start {
    if !past {
        return Start::Replay;
    }
    match socket.extensions.get::<Head>().and_then(|h| h.get()) {
        None => Start::NotReady,
        // Events were published up to the position while the store was read: it is in the log.
        Some(head) if head >= after => Start::Replay,
        Some(head) => Start::Reset(PositionReset {
            requested: after,
            head,
        }),
    }
}

/// Refuses a position past the end of the stored events while the head is unknown.
fn refuse_not_ready(socket: &SocketRef, ack: AckSender, after: i64) {
    refuse(
        socket,
        ack,
        FailureCode::NotReady,
        format!(
            "nothing is stored after offset {after} and the relay does not know yet where the event log \
             ends: ask again in a moment"
        ),
    );
}

/// Tells the client its position was reset (`position:reset`, then `replay:done` at the head: live from
/// there). Called with its cursor locked (and already reset), so these come before any live event.
fn announce_reset(socket: &SocketRef, reset: PositionReset) {
    metrics::counter!(metric::POSITION_RESETS).increment(1);
    tracing::info!(
        client = %socket.id,
        requested = reset.requested,
        head = reset.head,
        "a relay client asked to resume past the end of the event log; it continues from the head"
    );
    let _ = socket.emit("position:reset", &reset);
    let _ = socket.emit(
        "replay:done",
        &ReplayDone {
            last_offset: reset.head,
        },
    );
}

/// The store could not be read before a replay: `error` replay_failed, the refusal, and a disconnect, so the
/// client comes back and resumes from its own position.
fn refuse_unreadable(socket: &SocketRef, ack: AckSender, error: &str) {
    tracing::warn!(client = %socket.id, error, "a replay could not read the stored events");
    refuse(
        socket,
        ack,
        FailureCode::ReplayFailed,
        format!("the stored events could not be read ({error}); resume again"),
    );
    let _ = socket.clone().disconnect();
}

type Limiter = governor::RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    governor::clock::DefaultClock,
>;

/// A client's request limits, and how often it ran into them.
#[derive(Clone)]
pub(crate) struct Limits {
    requests: Arc<Limiter>,
    resumes: Arc<Limiter>,
    strikes: Arc<AtomicU32>,
    most_strikes: u32,
}

impl Limits {
    pub(crate) fn new(options: &RelayOptions) -> Limits {
        let per_minute = |n: u32| {
            governor::Quota::per_minute(std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN))
        };
        Limits {
            requests: Arc::new(governor::RateLimiter::direct(per_minute(
                options.requests_per_minute,
            ))),
            resumes: Arc::new(governor::RateLimiter::direct(per_minute(
                options.resumes_per_minute,
            ))),
            strikes: Arc::default(),
            most_strikes: options.strikes,
        }
    }
}

/// Publishes `event` (committed, at `offset`) to `socket` if its filter matches: queued in its cursor while
/// it replays, sent otherwise unless it already has it. `json` is the event's JSON, encoded by the first
/// client that needs it and shared by the others.
pub(crate) fn publish_to(socket: &SocketRef, event: &Event, offset: i64, json: &mut Option<Box<RawValue>>) {
    let (Some(Subscribed(filter)), Some(cursor)) = (
        socket.extensions.get::<Subscribed>(),
        socket.extensions.get::<CursorHandle>(),
    ) else {
        return;
    };
    if !filter.matches(event) {
        return;
    }
    let json = match json {
        Some(json) => json,
        None => match encode(event) {
            Some(encoded) => json.insert(encoded),
            None => return,
        },
    };
    let mut cursor = cursor.lock();
    if cursor.replaying {
        cursor.waiting.push((offset, json.clone()));
    } else if offset > cursor.delivered && send(socket, json) {
        cursor.delivered = offset;
    }
}

/// The event's JSON form v1, ready to send; `None` (logged) if it cannot be encoded.
fn encode(event: &Event) -> Option<Box<RawValue>> {
    RawValue::from_string(event.to_json_line())
        .inspect_err(|e| tracing::error!(error = %e, "an event could not be encoded for the relay"))
        .ok()
}

/// Sends one event's JSON to `socket`; `false` when it did not go (a client that fell behind is
/// disconnected, so it resumes instead of silently missing events).
fn send(socket: &SocketRef, json: &RawValue) -> bool {
    match socket.emit("event", json) {
        Ok(()) => {
            metrics::counter!(metric::EVENTS_SENT).increment(1);
            if let Some(tracked) = socket.extensions.get::<Tracked>() {
                tracked.sent();
            }
            true
        }
        Err(SendError::Socket(SocketError::InternalChannelFull)) => {
            metrics::counter!(metric::SLOW_CLIENTS).increment(1);
            tracing::warn!(client = %socket.id, "a relay client fell behind; disconnecting it so it resumes");
            let _ = socket.clone().disconnect();
            false
        }
        Err(e) => {
            tracing::debug!(client = %socket.id, error = %e, "an event did not reach a relay client");
            false
        }
    }
}

/// Whether `socket` may make a request now (one that `replays`: also within the replay limit). A refused
/// request is answered with `rate:limit { event, retry_after_ms }` and its ack; a client refused too often
/// is disconnected.
fn allowed(socket: &SocketRef, event: &'static str, replays: bool, ack: AckSender) -> Option<AckSender> {
    let Some(limits) = socket.extensions.get::<Limits>() else {
        return Some(ack);
    };
    let checked = limits
        .requests
        .check()
        .and_then(|()| if replays { limits.resumes.check() } else { Ok(()) });
    let Err(not_until) = checked else {
        return Some(ack);
    };
    metrics::counter!(metric::RATE_LIMITED, "request" => event).increment(1);
    let retry_after = not_until.wait_time_from(governor::clock::Clock::now(
        &governor::clock::DefaultClock::default(),
    ));
    let retry_after_ms = retry_after.as_millis() as u64;
    let _ = socket.emit(
        "rate:limit",
        &RateLimited {
            event: event.to_owned(),
            retry_after_ms,
        },
    );
    let _ = ack.send(&RequestAnswer::refused(RelayFailure {
        code: FailureCode::RateLimited,
        message: format!("too many requests: try {event} again in {retry_after_ms} ms"),
    }));
    let strikes = limits.strikes.fetch_add(1, Ordering::Relaxed) + 1;
    if strikes > limits.most_strikes {
        tracing::warn!(client = %socket.id, strikes, "a relay client kept going over its limits; disconnecting it");
        let _ = socket.clone().disconnect();
    }
    None
}

/// Answers a request that cannot be carried out: `error`, and the refusal in its ack.
fn refuse(socket: &SocketRef, ack: AckSender, code: FailureCode, message: String) {
    let failure = RelayFailure { code, message };
    let _ = socket.emit("error", &failure);
    let _ = ack.send(&RequestAnswer::refused(failure));
}

/// Refuses a request that would start a replay while one is under way.
fn refuse_busy(socket: &SocketRef, ack: AckSender) {
    refuse(
        socket,
        ack,
        FailureCode::Busy,
        "a replay is under way: wait for replay:done".into(),
    );
}

/// A client is in: it receives the connections' status at once, and events once it subscribes.
pub(crate) async fn on_connect(socket: SocketRef) {
    tracing::debug!(client = %socket.id, "relay client connected");
    socket.on("subscribe", subscribe);
    socket.on("resume", resume);
    socket.on("unsubscribe", async |socket: SocketRef, ack: AckSender| {
        let Some(ack) = allowed(&socket, "unsubscribe", false, ack) else {
            return;
        };
        socket.extensions.remove::<Subscribed>();
        let _ = ack.send(&RequestAnswer::ok());
    });
}

/// `subscribe { platforms?, kinds?, channels?, after? }`: the filter in force from now on, echoed in the
/// ack with the head. With `after`, it also replays every matching stored event after that offset before
/// going live, in one step: nothing is sent live before the replay, so nothing comes twice or out of order.
/// An `after` past the end of the stored events is reset to the head instead (see [`past_the_end`]).
async fn subscribe(socket: SocketRef, TryData(request): TryData<SubscribeRequest>, ack: AckSender) {
    let replays = request.as_ref().is_ok_and(|r| r.after.is_some());
    let Some(ack) = allowed(&socket, "subscribe", replays, ack) else {
        return;
    };
    let SubscribeRequest { filter, after } = match request {
        Ok(request) => request,
        Err(e) => {
            return refuse(
                &socket,
                ack,
                FailureCode::BadRequest,
                format!("subscribe takes {{ platforms?, kinds?, channels?, after? }}: {e}"),
            );
        }
    };
    let Some(cursor) = socket.extensions.get::<CursorHandle>() else {
        return;
    };
    let stored = socket.extensions.get::<Stored>();
    let (after, stored) = match (after, stored) {
        (Some(after), Some(stored)) => (after, stored),
        (Some(_), None) => {
            return refuse(
                &socket,
                ack,
                FailureCode::Unavailable,
                "this relay keeps no stored events to replay: subscribe without `after`".into(),
            );
        }
        (None, _) => {
            // The cursor stays locked until the answer is queued: a publish sends to this client only
            // after it, so the answer's head comes first.
            let locked = cursor.lock();
            if locked.replaying {
                drop(locked);
                return refuse_busy(&socket, ack);
            }
            socket.extensions.insert(Subscribed(Arc::new(filter.clone())));
            // Read after the filter is in place: a publish moves the head before it looks at the clients,
            // so every event past this head reaches the client.
            let head = socket.extensions.get::<Head>().and_then(|h| h.get());
            let _ = ack.send(&RequestAnswer {
                filter: Some(filter),
                head,
                ..RequestAnswer::ok()
            });
            return;
        }
    };
    // The replay begins with the new filter in one step: from here live events wait in the cursor, so
    // none is sent before the answer, and none while the position is checked.
    let previous = {
        let mut locked = cursor.lock();
        if locked.replaying {
            drop(locked);
            return refuse_busy(&socket, ack);
        }
        locked.start_replay(after);
        let previous = socket.extensions.get::<Subscribed>();
        socket.extensions.insert(Subscribed(Arc::new(filter.clone())));
        previous
    };
    let started = match check_position(&socket, &cursor, &stored, after).await {
        Ok(started) => started,
        Err(e) => return refuse_unreadable(&socket, ack, &e),
    };
    let reset = {
        let mut locked = cursor.lock();
        let reset = match started {
            Start::NotReady => {
                // Nothing was published yet (the head would be known), so nothing waits: the request is
                // undone as if it had not come.
                locked.abandon_replay();
                match previous {
                    Some(previous) => socket.extensions.insert(previous),
                    None => socket.extensions.remove::<Subscribed>(),
                };
                drop(locked);
                return refuse_not_ready(&socket, ack, after);
            }
            Start::Replay => None,
            Start::Reset(reset) => {
                locked.reset_to(reset.head);
                Some(reset)
            }
        };
        let head = socket.extensions.get::<Head>().and_then(|h| h.get());
        let _ = ack.send(&RequestAnswer {
            filter: Some(filter.clone()),
            // After a reset, the client's position is the reset's head: the answer's must agree.
            head: reset.map_or(head, |r| Some(r.head)),
            reset,
            ..RequestAnswer::ok()
        });
        if let Some(reset) = reset {
            announce_reset(&socket, reset);
        }
        reset
    };
    if reset.is_none() {
        metrics::counter!(metric::REPLAYS).increment(1);
        replay(&socket, &filter, &cursor, &stored, after).await;
    }
}

/// `resume { after }`: every stored event after `after` that matches the client's filter, then what was
/// published meanwhile (each once, in order), then `replay:done { last_offset }`; live from then on. Events
/// sent live between the `subscribe` and this request may come again (`subscribe { after }` avoids that).
/// An `after` past the end of the stored events is reset to the head instead (see [`past_the_end`]).
async fn resume(socket: SocketRef, TryData(request): TryData<ResumeRequest>, ack: AckSender) {
    let Some(ack) = allowed(&socket, "resume", true, ack) else {
        return;
    };
    let after = match request {
        Ok(request) => request.after,
        Err(e) => {
            return refuse(
                &socket,
                ack,
                FailureCode::BadRequest,
                format!("resume takes {{ after: OFFSET }}: {e}"),
            );
        }
    };
    let (Some(Subscribed(filter)), Some(cursor)) = (
        socket.extensions.get::<Subscribed>(),
        socket.extensions.get::<CursorHandle>(),
    ) else {
        return refuse(
            &socket,
            ack,
            FailureCode::NotSubscribed,
            "subscribe first: resume replays what the filter matches".into(),
        );
    };
    let Some(stored) = socket.extensions.get::<Stored>() else {
        return refuse(
            &socket,
            ack,
            FailureCode::Unavailable,
            "this relay keeps no stored events to replay".into(),
        );
    };
    {
        let mut locked = cursor.lock();
        if locked.replaying {
            drop(locked);
            return refuse_busy(&socket, ack);
        }
        locked.start_replay(after);
    }
    let started = match check_position(&socket, &cursor, &stored, after).await {
        Ok(started) => started,
        Err(e) => return refuse_unreadable(&socket, ack, &e),
    };
    {
        let mut locked = cursor.lock();
        match started {
            Start::NotReady => {
                locked.abandon_replay();
                drop(locked);
                return refuse_not_ready(&socket, ack, after);
            }
            Start::Reset(reset) => {
                locked.reset_to(reset.head);
                let _ = ack.send(&RequestAnswer {
                    reset: Some(reset),
                    ..RequestAnswer::ok()
                });
                return announce_reset(&socket, reset);
            }
            Start::Replay => {}
        }
    }
    metrics::counter!(metric::REPLAYS).increment(1);
    let _ = ack.send(&RequestAnswer::ok());
    replay(&socket, &filter, &cursor, &stored, after).await;
}

/// Checks a replay's position (the cursor already replaying, so live events wait) and decides how it
/// starts, with the head as it is now. When the store cannot be read, the replay is abandoned and the
/// error returned (the caller refuses the request and disconnects the client).
async fn check_position(
    socket: &SocketRef,
    cursor: &CursorHandle,
    stored: &Stored,
    after: i64,
) -> Result<Start, String> {
    let head = socket.extensions.get::<Head>().and_then(|h| h.get());
    match past_the_end(stored, head, after).await {
        Ok(past) => Ok(start(socket, past, after)),
        Err(e) => {
            cursor.lock().abandon_replay();
            Err(e)
        }
    }
}

/// Sends every stored event after `after` that matches `filter`, then the live ones that waited in the
/// cursor (each once, in order), then `replay:done`. When the store cannot be read, the client is told
/// (`error` replay_failed) and disconnected, so it comes back and resumes from what it has: going on would
/// skip the events not read.
async fn replay(socket: &SocketRef, filter: &Filter, cursor: &CursorHandle, stored: &Stored, after: i64) {
    let Stored(stored, page_size) = stored;
    let mut position = after.max(0);
    loop {
        let page = match stored.after(Offset(position), *page_size).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(client = %socket.id, error = %e, "a replay could not read the stored events");
                let failure = RelayFailure {
                    code: FailureCode::ReplayFailed,
                    message: format!("the stored events could not be read ({e}); resume again"),
                };
                let _ = socket.emit("error", &failure);
                cursor.lock().abandon_replay();
                let _ = socket.clone().disconnect();
                return;
            }
        };
        let Some(last) = page.last().and_then(|e| e.offset) else {
            break;
        };
        for event in &page {
            if filter.matches(event) {
                let Some(json) = encode(event) else { continue };
                if !send(socket, &json) {
                    return;
                }
                metrics::counter!(metric::REPLAYED_EVENTS).increment(1);
            }
        }
        position = last.0;
        cursor.lock().delivered = position;
    }
    // What was published during the replay and is past it, in order; then live.
    let mut cursor = cursor.lock();
    let mut waiting = std::mem::take(&mut cursor.waiting);
    waiting.sort_by_key(|(offset, _)| *offset);
    for (offset, json) in waiting {
        if offset > cursor.delivered && send(socket, &json) {
            cursor.delivered = offset;
        }
    }
    cursor.replaying = false;
    let _ = socket.emit(
        "replay:done",
        &ReplayDone {
            last_offset: cursor.delivered,
        },
    );
}
