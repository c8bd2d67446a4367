//! The event log: every kind round-trips through SQLite back to the same JSON v1, duplicates are recorded
//! once with both callers answered, filters and full-text search find what they should.

#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

mod common;

use chrono::Duration;
use common::temp_store;
use onair_core::{Actor, ChatMessage, Event, EventData, EventKind, Offset, Platform, sample};
use onair_store::{EventQuery, Store};
use sqlx::Connection;

fn chat(text: &str, source_id: &str) -> Event {
    Event::new(
        Platform::Kick,
        sample::channel(),
        EventData::ChatMessage(ChatMessage {
            text: text.into(),
            ..Default::default()
        }),
    )
    .with_actor(Actor::new("1", "pixelwitch"))
    .with_source_id(source_id)
}

async fn all(store: &Store) -> Vec<Event> {
    store.events(&EventQuery::all()).await.unwrap()
}

#[tokio::test]
async fn every_kind_round_trips_to_the_same_json() {
    let (store, dir) = temp_store().await;
    let writer = store.writer();
    let originals = sample::every_kind(Platform::Kick);
    let mut receipts = Vec::new();
    for event in originals.clone() {
        receipts.push(writer.append(event).await.unwrap());
    }
    let mut offsets = Vec::new();
    for receipt in receipts {
        let appended = receipt.committed().await.unwrap();
        assert!(!appended.duplicate);
        offsets.push(appended.offset);
    }
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets increase: {offsets:?}"
    );

    // Read back from a fresh open, so nothing comes from memory.
    store.close().await;
    let store = Store::open_existing(dir.path().join("onair.db")).await.unwrap();
    let stored = all(&store).await;
    assert_eq!(stored.len(), EventKind::ALL.len());
    for ((original, stored), offset) in originals.into_iter().zip(stored).zip(offsets) {
        let expected = Event {
            offset: Some(offset),
            ..original
        };
        assert_eq!(
            stored.to_json_line(),
            expected.to_json_line(),
            "{}",
            expected.kind()
        );
        assert_eq!(stored, expected, "raw kept too for {}", expected.kind());
    }
}

#[tokio::test]
async fn a_duplicate_is_recorded_once_and_both_callers_succeed() {
    let (store, dir) = temp_store().await;
    let writer = store.writer();
    // Same batch: queued together before either commits.
    let a = writer.append(chat("first copy", "m-1")).await.unwrap();
    let b = writer.append(chat("second copy", "m-1")).await.unwrap();
    let (a, b) = (a.committed().await.unwrap(), b.committed().await.unwrap());
    assert!(!a.duplicate && b.duplicate);
    assert_eq!(a.offset, b.offset, "the duplicate points at the first copy");

    // A later batch, and after a reopen.
    let c = writer.append_and_wait(chat("third copy", "m-1")).await.unwrap();
    assert_eq!((c.offset, c.duplicate), (a.offset, true));
    store.close().await;
    let store = Store::open(dir.path().join("onair.db")).await.unwrap();
    let d = store
        .writer()
        .append_and_wait(chat("after restart", "m-1"))
        .await
        .unwrap();
    assert_eq!((d.offset, d.duplicate), (a.offset, true));

    // The same source id on another platform is another event; no source id never deduplicates.
    let mut twitch = chat("twitch", "m-1");
    twitch.platform = Platform::Twitch;
    assert!(!store.writer().append_and_wait(twitch).await.unwrap().duplicate);
    for _ in 0..2 {
        let mut anonymous = chat("no id", "x");
        anonymous.source_id = None;
        assert!(!store.writer().append_and_wait(anonymous).await.unwrap().duplicate);
    }
    // Without a source id, OnAir's own id identifies the event (an export imported twice).
    let mut exported = chat("exported", "x");
    exported.source_id = None;
    let once = store.writer().append_and_wait(exported.clone()).await.unwrap();
    let twice = store.writer().append_and_wait(exported).await.unwrap();
    assert_eq!((twice.offset, twice.duplicate), (once.offset, true));
    let texts: Vec<String> = all(&store)
        .await
        .iter()
        .filter_map(|e| e.chat_text().map(str::to_owned))
        .collect();
    assert_eq!(texts, ["first copy", "twitch", "no id", "no id", "exported"]);
    let status = store.writer().status().borrow().clone();
    assert_eq!(
        (status.committed, status.duplicates),
        (4, 2),
        "counts since this open"
    );
}

#[tokio::test]
async fn filters_select_by_kind_platform_channel_time_and_offset() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    for event in sample::every_kind(Platform::Kick)
        .into_iter()
        .chain(sample::every_kind(Platform::Twitch))
    {
        writer.append_detached(event).await.unwrap();
    }
    let mut elsewhere = chat("other channel", "o-1");
    elsewhere.channel = onair_core::ChannelRef::new("999", "OtherChannel");
    writer.append_detached(elsewhere).await.unwrap();
    writer.flush().await.unwrap();
    let per_platform = EventKind::ALL.len();

    let q = |edit: fn(&mut EventQuery)| {
        let mut query = EventQuery {
            after: Some(Offset(0)),
            ..Default::default()
        };
        edit(&mut query);
        query
    };
    let kinds = store
        .events(&q(|q| q.kinds = vec![EventKind::Follow, EventKind::Ban]))
        .await
        .unwrap();
    assert_eq!(
        kinds.iter().map(Event::kind).collect::<Vec<_>>(),
        [
            EventKind::Follow,
            EventKind::Ban,
            EventKind::Follow,
            EventKind::Ban
        ]
    );
    let twitch = store
        .events(&q(|q| q.platform = Some(Platform::Twitch)))
        .await
        .unwrap();
    assert_eq!(twitch.len(), per_platform);
    assert!(twitch.iter().all(|e| e.platform == Platform::Twitch));
    let other = store
        .events(&q(|q| q.channel = Some("otherchannel".into())))
        .await
        .unwrap();
    assert_eq!(other.len(), 1, "slug matches without case");
    let by_id = store
        .events(&q(|q| q.channel = Some("999".into())))
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1, "platform id matches too");

    // Time: samples are received one second apart from a fixed epoch.
    let since = sample::epoch() + Duration::seconds(30);
    let until = sample::epoch() + Duration::seconds(31);
    let in_window = store
        .events(&EventQuery {
            after: Some(Offset(0)),
            since: Some(since),
            until: Some(until),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(in_window.len(), 2, "one per platform in that second");
    assert!(
        in_window
            .iter()
            .all(|e| e.received_at >= since && e.received_at < until)
    );

    // Paging by offset, and the newest N without `after`.
    let first_page = store
        .events(&EventQuery {
            after: Some(Offset(0)),
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    let next_page = store
        .events(&EventQuery {
            after: first_page.last().unwrap().offset,
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first_page.len(), 5);
    assert!(next_page[0].offset > first_page[4].offset);
    let newest = store
        .events(&EventQuery {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newest.len(), 2);
    assert_eq!(newest[1].chat_text(), Some("other channel"), "newest last");
    assert!(newest[0].offset < newest[1].offset);
    // Paging back: the newest `limit` before an offset, oldest first, never the offset itself.
    let older = store
        .events(&EventQuery {
            before: newest[0].offset,
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(older.len(), 3);
    assert!(
        older.windows(2).all(|w| w[0].offset < w[1].offset),
        "oldest first"
    );
    assert_eq!(
        older[2].offset.map(|o| o.0 + 1),
        newest[0].offset.map(|o| o.0),
        "the page ends right before"
    );
}

#[tokio::test]
async fn full_text_search_handles_unicode_accents_and_prefixes() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    let texts = [
        "gg that clutch was insane 🔥🔥 ¡increíble!",
        "naïve café ☕ at the Café Ümlaut",
        "привет чат, как дела",
        "日本語 もOK",
        "nothing to see",
    ];
    for (i, text) in texts.iter().enumerate() {
        writer
            .append_detached(chat(text, &format!("s-{i}")))
            .await
            .unwrap();
    }
    // A follow never matches text search.
    writer
        .append_detached(sample::every_kind(Platform::Kick).remove(6))
        .await
        .unwrap();
    writer.flush().await.unwrap();

    let search = |text: &'static str| {
        let store = &store;
        async move {
            let query = EventQuery {
                after: Some(Offset(0)),
                search: Some(text.into()),
                ..Default::default()
            };
            store
                .events(&query)
                .await
                .unwrap()
                .iter()
                .filter_map(|e| e.chat_text().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("cafe").await, [texts[1]], "accents folded");
    assert_eq!(
        search("CAFÉ umlaut").await,
        [texts[1]],
        "case folded, all words required"
    );
    assert_eq!(search("increible").await, [texts[0]]);
    assert_eq!(search("ПРИВЕТ").await, [texts[2]], "Cyrillic case folded");
    assert_eq!(search("日本語").await, [texts[3]]);
    assert_eq!(search("clut*").await, [texts[0]], "prefix");
    assert_eq!(
        search("\"OR\" -x").await,
        Vec::<String>::new(),
        "operators are words, not syntax"
    );
    assert!(search("zebra").await.is_empty());
    let bad = store
        .events(&EventQuery {
            search: Some("   ".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("search for words"), "{bad}");
}

#[tokio::test]
async fn counts_per_minute_and_viewer_timeline() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    for (i, minute) in [0, 0, 1, 1, 1].into_iter().enumerate() {
        let mut e = chat("hi", &format!("c-{i}"));
        e.received_at = sample::epoch() + Duration::minutes(minute);
        writer.append_detached(e).await.unwrap();
    }
    for event in sample::every_kind(Platform::Kick) {
        writer.append_detached(event).await.unwrap();
    }
    writer.flush().await.unwrap();
    let from = sample::epoch() - Duration::hours(1);
    let counts = store
        .counts_per_minute(from, from + Duration::hours(2))
        .await
        .unwrap();
    let chat_counts: Vec<u64> = counts
        .iter()
        .filter(|c| c.kind == EventKind::ChatMessage)
        .map(|c| c.count)
        .collect();
    assert_eq!(
        chat_counts,
        [2 + 1, 3],
        "the sample chat message is received in the first minute too"
    );
    assert!(counts.windows(2).all(|w| w[0].minute <= w[1].minute));
    let total: u64 = counts.iter().map(|c| c.count).sum();
    assert_eq!(total, 5 + EventKind::ALL.len() as u64);

    // pixelwitch (id 1) chatted 5 times; the samples' streamer (id of actor 6) acted on many.
    let timeline = store.viewer_timeline(Platform::Kick, "1", 3).await.unwrap();
    assert_eq!(timeline.len(), 3);
    assert!(
        timeline.windows(2).all(|w| w[0].offset > w[1].offset),
        "newest first"
    );
    let samples = sample::every_kind(Platform::Kick);
    let banned = samples
        .iter()
        .find(|e| e.kind() == EventKind::Ban)
        .unwrap()
        .target
        .clone()
        .unwrap();
    let theirs = store
        .viewer_timeline(Platform::Kick, &banned.id, 100)
        .await
        .unwrap();
    assert!(
        theirs.iter().any(|e| e.kind() == EventKind::Ban),
        "target side of the timeline"
    );
    assert!(
        theirs
            .iter()
            .all(|e| e.actor.as_ref() == Some(&banned) || e.target.as_ref() == Some(&banned))
    );
}

#[tokio::test]
async fn stats_count_what_is_stored() {
    let (store, _dir) = temp_store().await;
    for event in sample::every_kind(Platform::Discord) {
        store.writer().append_detached(event).await.unwrap();
    }
    store.writer().flush().await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.events, EventKind::ALL.len() as u64);
    assert_eq!(
        stats.per_platform,
        [(Platform::Discord, EventKind::ALL.len() as u64)]
    );
    assert_eq!(stats.channels, 1);
    assert!(stats.viewers >= 2);
    assert!(stats.bytes > 0);
    assert_eq!(store.integrity_check().await.unwrap(), ["ok"]);
}

#[tokio::test]
async fn a_dedup_key_collision_never_loses_an_event() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    // Make "forged" hold the key that "victim" hashes to, as a real 64-bit collision would.
    writer.append_and_wait(chat("forged", "forged")).await.unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", store.path().display()))
        .await
        .unwrap();
    sqlx::query("UPDATE events SET dedup_key = ? WHERE source_id = 'forged'")
        .bind(onair_store::dedup_key(Platform::Kick, "victim", 0))
        .execute(&mut conn)
        .await
        .unwrap();

    let first = writer.append_and_wait(chat("victim", "victim")).await.unwrap();
    assert!(
        !first.duplicate,
        "a different message on the same key is recorded"
    );
    let again = writer
        .append_and_wait(chat("victim again", "victim"))
        .await
        .unwrap();
    assert_eq!(
        (again.offset, again.duplicate),
        (first.offset, true),
        "and still deduplicated"
    );
    let texts: Vec<String> = all(&store)
        .await
        .iter()
        .filter_map(|e| e.chat_text().map(str::to_owned))
        .collect();
    assert_eq!(texts, ["forged", "victim"]);
    let found = store
        .events(&EventQuery {
            search: Some("victim".into()),
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the moved event is indexed for search too");
}

#[tokio::test]
async fn a_viewer_timeline_has_their_chat_their_actions_and_what_was_done_to_them() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    let me = Actor::new("1", "pixelwitch");
    let other = Actor::new("2", "bob");
    let follow = |who: &Actor| {
        Event::new(
            Platform::Kick,
            sample::channel(),
            EventData::Follow(Default::default()),
        )
        .with_actor(who.clone())
    };
    let timeout = Event::new(
        Platform::Kick,
        sample::channel(),
        EventData::Timeout(Default::default()),
    )
    .with_actor(other.clone())
    .with_target(me.clone());
    let mut by_other = chat("not mine", "o-1");
    by_other.actor = Some(other.clone());
    for event in [
        chat("one", "c-1"),
        follow(&me),
        by_other,
        follow(&other),
        timeout,
        chat("two", "c-2"),
    ] {
        writer.append_detached(event).await.unwrap();
    }
    writer.flush().await.unwrap();
    let timeline = store.viewer_timeline(Platform::Kick, "1", 10).await.unwrap();
    let kinds: Vec<EventKind> = timeline.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::ChatMessage,
            EventKind::Timeout,
            EventKind::Follow,
            EventKind::ChatMessage
        ]
    );
    assert_eq!(timeline[0].chat_text(), Some("two"));
    assert!(
        store
            .viewer_timeline(Platform::Kick, "nobody", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .viewer_timeline(Platform::Twitch, "1", 10)
            .await
            .unwrap()
            .is_empty(),
        "ids are per platform"
    );
}

#[tokio::test]
async fn a_channel_is_found_again_by_its_slug_with_its_ids() {
    let (store, _dir) = temp_store().await;
    assert_eq!(
        store
            .channel_by_slug(Platform::Kick, "novastreams")
            .await
            .unwrap(),
        None
    );
    let mut channel = onair_core::ChannelRef::new("4781203", "novastreams");
    channel.chatroom_id = Some("4760932".into());
    let event = Event::new(
        Platform::Kick,
        channel.clone(),
        EventData::ChatCleared(onair_core::Empty {}),
    );
    store.writer().append_and_wait(event).await.unwrap();
    // A later event without the chatroom id does not forget it.
    let bare = onair_core::ChannelRef::new("4781203", "novastreams");
    let event = Event::new(Platform::Kick, bare, EventData::ChatCleared(onair_core::Empty {}));
    store.writer().append_and_wait(event).await.unwrap();
    assert_eq!(
        store
            .channel_by_slug(Platform::Kick, "novastreams")
            .await
            .unwrap(),
        Some(channel)
    );
    assert_eq!(
        store
            .channel_by_slug(Platform::Twitch, "novastreams")
            .await
            .unwrap(),
        None
    );
    store.close().await;
}

#[tokio::test]
async fn a_remembered_channel_is_found_before_any_of_its_events() {
    let (store, _dir) = temp_store().await;
    let mut channel = onair_core::ChannelRef::new("4781203", "novastreams");
    channel.chatroom_id = Some("4760932".into());
    store
        .writer()
        .remember_channel(Platform::Kick, channel.clone())
        .await
        .unwrap();
    store.writer().flush().await.unwrap();
    assert_eq!(
        store
            .channel_by_slug(Platform::Kick, "novastreams")
            .await
            .unwrap(),
        Some(channel)
    );
    assert_eq!(store.stats().await.unwrap().events, 0);
    store.close().await;
}
