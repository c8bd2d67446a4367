//! Sample events: one fully populated event of every kind, and a deterministic generator of realistic,
//! chat-heavy traffic. For tests, benchmarks and demos (feature `samples`).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::*;

/// The channel samples happen in.
pub fn channel() -> ChannelRef {
    ChannelRef {
        platform_id: "4781203".into(),
        slug: "nebulacast".into(),
        chatroom_id: Some("4760932".into()),
    }
}

/// A fixed start time for samples, so tests are repeatable.
pub fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_779_475_327, 123_456_789).unwrap_or_default()
}

fn actor(n: u32) -> Actor {
    let logins = [
        "pixelwitch",
        "KEKW_enjoyer",
        "bob",
        "alice_k",
        "модератор",
        "日本のファン",
        "ZedZero",
        "café_noir",
    ];
    let login = logins[n as usize % logins.len()];
    Actor {
        id: format!("{}", 19_283_746 + n),
        login: login.to_lowercase(),
        display_name: login.to_owned(),
    }
}

/// One event of every kind, each with every field of its data set, in [`EventKind::ALL`] order.
/// Each has a distinct `source_id` and a time one second after the previous.
pub fn every_kind(platform: Platform) -> Vec<Event> {
    let streamer = actor(6);
    EventKind::ALL
        .iter()
        .enumerate()
        .map(|(i, &kind)| {
            let n = u32::try_from(i).unwrap_or(0);
            let at = epoch() + Duration::seconds(i64::from(n));
            let data = data_of(kind, at);
            let (actor, target) = match kind {
                EventKind::ChatCleared
                | EventKind::ChatSettings
                | EventKind::FollowerCount
                | EventKind::StreamOnline
                | EventKind::StreamOffline
                | EventKind::StreamUpdated
                | EventKind::PollUpdate
                | EventKind::PollEnd
                | EventKind::Prediction
                | EventKind::LeaderboardUpdate
                | EventKind::Unknown => (None, None),
                EventKind::Ban
                | EventKind::Timeout
                | EventKind::Unban
                | EventKind::ModeratorAdd
                | EventKind::ModeratorRemove
                | EventKind::VipAdd
                | EventKind::VipRemove
                | EventKind::MessageDeleted
                | EventKind::MessagePinned
                | EventKind::MessageUnpinned => (Some(streamer.clone()), Some(actor(n))),
                EventKind::RaidOut => (None, Some(actor(n))),
                _ => (Some(actor(n)), None),
            };
            Event {
                offset: None,
                id: Uuid::from_u128(0x0191_d6a8_5f00_7000_8000_0000_0000_0000 + u128::from(n)),
                platform,
                channel: channel(),
                actor,
                target,
                occurred_at: at,
                received_at: at + Duration::milliseconds(40),
                source_id: Some(format!("sample-{}-{n}", kind.as_str())),
                data,
                raw: (kind == EventKind::Unknown).then(|| {
                    serde_json::value::RawValue::from_string(
                        r#"{"event":"App\\Events\\BrandNewEvent","data":"{\"x\":1}","channel":"channel.4781203"}"#.into(),
                    )
                    .unwrap_or_else(|_| Box::default())
                }),
            }
        })
        .collect()
}

fn poll(state: &str) -> Poll {
    Poll {
        title: "Best map?".into(),
        options: vec![
            PollOption {
                label: "Dust 2".into(),
                votes: 12,
            },
            PollOption {
                label: "Mirage".into(),
                votes: 7,
            },
        ],
        state: Some(state.into()),
    }
}

fn data_of(kind: EventKind, at: DateTime<Utc>) -> EventData {
    let stream = StreamInfo {
        stream_id: Some("71234567".into()),
        title: Some("ranked grind 🔥".into()),
        category: Some("Counter-Strike 2".into()),
    };
    let pinned = PinnedMessage {
        message_id: "5e8d1b20".into(),
        text: Some("!crosshair".into()),
        duration_secs: Some(1200),
    };
    let moderation = |d: Option<u64>| Moderation {
        reason: Some("spam".into()),
        duration_secs: d,
        expires_at: d.map(|s| at + Duration::seconds(i64::try_from(s).unwrap_or(0))),
    };
    match kind {
        EventKind::ChatMessage => EventData::ChatMessage(ChatMessage {
            text: "gg that clutch was insane 🔥 naïve café [emote:37226:KEKW]".into(),
            emotes: vec![Emote {
                id: "37226".into(),
                name: "KEKW".into(),
            }],
            badges: vec![
                Badge {
                    kind: "subscriber".into(),
                    count: Some(6),
                },
                Badge {
                    kind: "og".into(),
                    count: None,
                },
            ],
            color: Some("#FF9D00".into()),
            reply_to: Some(ReplyTo {
                message_id: "5e8d1b20".into(),
                login: "alice_k".into(),
                text: "crosshair?".into(),
            }),
            room_id: None,
        }),
        EventKind::MessageDeleted => EventData::MessageDeleted(MessageRef {
            message_id: "3f1c9a52".into(),
        }),
        EventKind::MessagePinned => EventData::MessagePinned(pinned),
        EventKind::MessageUnpinned => EventData::MessageUnpinned(pinned),
        EventKind::ChatCleared => EventData::ChatCleared(Empty {}),
        EventKind::ChatSettings => EventData::ChatSettings(ChatSettings {
            slow_mode_secs: Some(5),
            followers_only_mins: Some(10),
            subscribers_only: Some(true),
            emotes_only: None,
        }),
        EventKind::Follow => EventData::Follow(Empty {}),
        EventKind::FollowerCount => EventData::FollowerCount(FollowerCount { count: 12_345 }),
        EventKind::Subscription => EventData::Subscription(Subscription {
            months: Some(6),
            tier: Some("1000".into()),
            is_gift: false,
            message: Some("half a year!".into()),
        }),
        EventKind::SubscriptionEnd => EventData::SubscriptionEnd(SubscriptionEnd {
            tier: Some("1000".into()),
            is_gift: false,
        }),
        EventKind::SubscriptionGift => EventData::SubscriptionGift(SubscriptionGift {
            quantity: 2,
            recipients: vec!["bob".into(), "zedzero".into()],
            tier: Some("1000".into()),
            gifter_total: Some(40),
        }),
        EventKind::Ban => EventData::Ban(moderation(None)),
        EventKind::Timeout => EventData::Timeout(moderation(Some(600))),
        EventKind::Unban => EventData::Unban(Moderation::default()),
        EventKind::ModeratorAdd => EventData::ModeratorAdd(Empty {}),
        EventKind::ModeratorRemove => EventData::ModeratorRemove(Empty {}),
        EventKind::VipAdd => EventData::VipAdd(Empty {}),
        EventKind::VipRemove => EventData::VipRemove(Empty {}),
        EventKind::StreamOnline => EventData::StreamOnline(stream),
        EventKind::StreamOffline => EventData::StreamOffline(stream),
        EventKind::StreamUpdated => EventData::StreamUpdated(stream),
        EventKind::Raid => EventData::Raid(Raid {
            viewers: Some(321),
            message: None,
        }),
        EventKind::RaidOut => EventData::RaidOut(Raid {
            viewers: Some(87),
            message: Some("go say hi".into()),
        }),
        EventKind::Cheer => EventData::Cheer(Cheer {
            amount: 100,
            currency: Currency::Kicks,
            message: Some("Cheer100 gg".into()),
        }),
        EventKind::RewardRedeemed => EventData::RewardRedeemed(RewardRedeemed {
            title: "Hydrate".into(),
            input: Some("now!".into()),
        }),
        EventKind::PollUpdate => EventData::PollUpdate(poll("active")),
        EventKind::PollEnd => EventData::PollEnd(poll("ended")),
        EventKind::Prediction => EventData::Prediction(poll("locked")),
        EventKind::LeaderboardUpdate => EventData::LeaderboardUpdate(serde_json::json!({
            "channel_id": 4781203, "leaderboard": [{"user_id": 5512093, "username": "bob", "quantity": 40}]
        })),
        EventKind::MemberJoin => EventData::MemberJoin(Member {
            guild_id: "81384788765712384".into(),
        }),
        EventKind::MemberLeave => EventData::MemberLeave(Member {
            guild_id: "81384788765712384".into(),
        }),
        EventKind::Unknown => EventData::Unknown(Unknown {
            name: "App\\Events\\BrandNewEvent".into(),
        }),
    }
}

/// A deterministic stream of realistic traffic: mostly chat (text 20-300 characters, a few emotes and
/// badges, replies), with follows, subscriptions, gifts, moderation and stream events mixed in, from a
/// population of `chatters` viewers with a few very active ones. Event `i` always comes out the same.
pub struct Traffic {
    state: u64,
    chatters: u32,
    next: u64,
}

impl Traffic {
    /// A generator seeded with `seed`, drawing chatters from `chatters` viewers.
    pub fn new(seed: u64, chatters: u32) -> Self {
        Traffic {
            state: seed | 1,
            chatters: chatters.max(1),
            next: 0,
        }
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*: fast, repeatable, good enough to vary traffic.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rand() % n.max(1)
    }

    fn viewer(&mut self) -> Actor {
        // Half the messages come from 5% of the chatters.
        let pool = u64::from(self.chatters);
        let n = if self.below(2) == 0 {
            self.below(pool / 20 + 1)
        } else {
            self.below(pool)
        };
        let login = format!("{}_{n}", WORDS[(n % WORDS.len() as u64) as usize]);
        Actor {
            id: format!("{}", 10_000_000 + n),
            display_name: login.to_uppercase(),
            login,
        }
    }

    fn text(&mut self, min: usize, max: usize) -> String {
        let len = min + self.below((max - min) as u64) as usize;
        let mut text = String::with_capacity(len + 16);
        while text.len() < len {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(WORDS[self.below(WORDS.len() as u64) as usize]);
        }
        text
    }
}

const WORDS: &[&str] = &[
    "gg",
    "clutch",
    "insane",
    "KEKW",
    "lol",
    "what",
    "was",
    "that",
    "no",
    "way",
    "🔥",
    "😂",
    "café",
    "naïve",
    "привет",
    "日本語",
    "pog",
    "W",
    "L",
    "chat",
    "is",
    "this",
    "real",
    "streamer",
    "ranked",
    "grind",
    "map",
    "again",
    "first",
    "time",
    "here",
    "love",
    "the",
    "stream",
    "hello",
    "from",
    "brazil",
    "¡increíble!",
];

impl Iterator for Traffic {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let i = self.next;
        self.next += 1;
        let roll = self.below(1000);
        let actor = self.viewer();
        let at = epoch() + Duration::milliseconds(i64::try_from(i).unwrap_or(0));
        let (data, target) = match roll {
            0..=939 => {
                let emotes = (0..self.below(3))
                    .map(|_| {
                        let n = self.below(400_000);
                        Emote {
                            id: n.to_string(),
                            name: WORDS[(n % 38) as usize].to_owned(),
                        }
                    })
                    .collect();
                let reply_to = (self.below(10) == 0).then(|| ReplyTo {
                    message_id: Uuid::from_u64_pair(self.rand(), self.rand()).to_string(),
                    login: self.viewer().login,
                    text: self.text(20, 120),
                });
                let badges = (0..self.below(3))
                    .map(|b| Badge {
                        kind: ["subscriber", "og", "vip"][b as usize].into(),
                        count: Some(6),
                    })
                    .collect();
                let data = EventData::ChatMessage(ChatMessage {
                    text: self.text(20, 300),
                    emotes,
                    badges,
                    color: Some(format!("#{:06X}", self.below(0xFF_FFFF))),
                    reply_to,
                    room_id: None,
                });
                (data, None)
            }
            940..=969 => (EventData::Follow(Empty {}), None),
            970..=984 => {
                let data = Subscription {
                    months: Some(1 + self.below(36) as u32),
                    tier: Some("1000".into()),
                    is_gift: false,
                    message: Some(self.text(10, 120)),
                };
                (EventData::Subscription(data), None)
            }
            985..=989 => {
                let recipients = (0..1 + self.below(5))
                    .map(|_| self.viewer().login)
                    .collect::<Vec<_>>();
                let data = SubscriptionGift {
                    quantity: recipients.len() as u32,
                    recipients,
                    tier: Some("1000".into()),
                    gifter_total: Some(self.below(500) as u32),
                };
                (EventData::SubscriptionGift(data), None)
            }
            990..=995 => {
                let target = Some(self.viewer());
                let data = Moderation {
                    reason: Some(self.text(5, 60)),
                    duration_secs: Some(600),
                    expires_at: Some(at + Duration::seconds(600)),
                };
                (EventData::Timeout(data), target)
            }
            996..=997 => (
                EventData::MessageDeleted(MessageRef {
                    message_id: Uuid::from_u64_pair(self.rand(), 7).to_string(),
                }),
                None,
            ),
            _ => (
                EventData::FollowerCount(FollowerCount { count: 10_000 + i }),
                None,
            ),
        };
        let kind = data.kind();
        Some(Event {
            offset: None,
            id: Uuid::from_u64_pair(0x0191_d6a8_5f00_7000, i),
            platform: Platform::Kick,
            channel: channel(),
            actor: (kind != EventKind::FollowerCount).then_some(actor),
            target,
            occurred_at: at,
            received_at: at + Duration::milliseconds(35),
            source_id: Some(Uuid::from_u64_pair(self.rand(), self.rand()).to_string()),
            data,
            raw: None,
        })
    }
}
