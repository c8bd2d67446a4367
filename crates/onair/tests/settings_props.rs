//! Property tests of the settings file (`config.toml`): whatever it holds (random text, TOML of the right
//! shape with values of any type, numbers of any size, keys OnAir does not know), reading it never panics;
//! what is refused is an error that names the file and says what is wrong; and the platform settings read
//! from it turn into their configurations without a panic.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use onair::config::Config;
use proptest::prelude::*;

#[path = "../../../tests/support/damage.rs"]
mod damage;

const PATH: &str = "/home/streamer/.config/app.onair.desktop/config.toml";

/// A TOML value of any type, as text.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0_i64..1000).prop_map(|n| n.to_string()),
        Just("9223372036854775807".to_owned()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        Just("inf".to_owned()),
        Just("nan".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        "\\PC{0,30}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        prop_oneof![
            Just("\"auto\""),
            Just("\"kick:novastreams\""),
            Just("\"ws://127.0.0.1:6001/app/k\""),
            Just("\"\""),
            Just("1979-05-27T07:32:00Z"),
        ]
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..3).prop_map(|pairs| {
                let pairs: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

/// What a setting holds.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Number,
    Port,
    List,
    Shards,
}

/// The settings' sections and keys with what each holds, and some that are not settings.
const KEYS: [(&str, &[(&str, Kind)]); 5] = [
    ("", &[("watch", Kind::List), ("token", Kind::Text)]),
    (
        "kick",
        &[
            ("api_url", Kind::Text),
            ("pusher_url", Kind::Text),
            ("client_id", Kind::Text),
            ("redirect_port", Kind::Port),
        ],
    ),
    (
        "twitch",
        &[
            ("client_id", Kind::Text),
            ("eventsub_url", Kind::Text),
            ("helix_url", Kind::Text),
            ("auth_url", Kind::Text),
            ("keepalive_seconds", Kind::Number),
            ("poll_while_down_seconds", Kind::Number),
            ("poll_while_up_minutes", Kind::Number),
        ],
    ),
    (
        "discord",
        &[
            ("api_url", Kind::Text),
            ("gateway_url", Kind::Text),
            ("shards", Kind::Shards),
        ],
    ),
    ("youtube", &[("channel", Kind::Text)]),
];

/// A value of the kind a setting holds (any size or content), as TOML text.
fn typed(kind: Kind) -> BoxedStrategy<String> {
    let text = "\\PC{0,30}".prop_map(|s| serde_json::to_string(&s).unwrap());
    let number = prop_oneof![
        0_i64..1000,
        0_i64..=i64::MAX,
        Just(i64::MAX),
        Just(600_i64),
        Just(601_i64),
        Just(86_401_i64),
        Just(10_081_i64)
    ]
    .prop_map(|n| n.to_string());
    match kind {
        Kind::Text => text.boxed(),
        Kind::Number => number.boxed(),
        Kind::Port => (0_i64..70_000).prop_map(|n| n.to_string()).boxed(),
        Kind::List => prop::collection::vec(text, 0..3)
            .prop_map(|items| format!("[{}]", items.join(", ")))
            .boxed(),
        Kind::Shards => prop_oneof![number, Just("\"auto\"".to_owned())].boxed(),
    }
}

/// A settings file of the right shape: mostly keys OnAir knows with values of their kind, sometimes a
/// key it does not know or a value of any type.
fn settings() -> impl Strategy<Value = String> {
    let entry = (0..KEYS.len() - 1, any::<prop::sample::Index>())
        .prop_flat_map(|(section, key)| {
            let (name, keys) = KEYS[section];
            let (key, kind) = *key.get(keys);
            (
                Just(section),
                Just(name),
                Just(key),
                prop_oneof![6 => typed(kind), 1 => value()],
            )
        })
        .boxed();
    let stranger = (Just(KEYS.len() - 1), Just("youtube"), Just("channel"), value()).boxed();
    prop::collection::vec(prop_oneof![12 => entry, 1 => stranger], 0..8).prop_map(|entries| {
        let mut text = String::new();
        // Top-level keys must come before any table.
        let mut ordered = entries;
        ordered.sort_by_key(|(section, ..)| *section);
        let mut current = None;
        let mut seen = std::collections::HashSet::new();
        for (_, name, key, value) in ordered {
            if !seen.insert((name, key)) {
                continue;
            }
            if current != Some(name) && !name.is_empty() {
                text.push_str(&format!("[{name}]\n"));
            }
            current = Some(name);
            text.push_str(&format!("{key} = {value}\n"));
        }
        text
    })
}

/// Reads `text`; a refusal must name the file and say why; what is read must turn into configurations.
fn read(text: &str) -> Result<(), TestCaseError> {
    match Config::from_toml(text, Path::new(PATH)) {
        Ok(config) => {
            let _ = config.twitch.config();
            let _ = config.discord.config();
        }
        Err(e) => {
            let message = e.to_string();
            let prefix = format!("the settings file {PATH} is not valid: ");
            prop_assert!(
                message.starts_with(&prefix) && message.len() > prefix.len(),
                "{message}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(damage::CASES))]

    #[test]
    fn random_text_is_read_or_refused_in_words(text in "\\PC*") {
        read(&text)?;
    }

    #[test]
    fn settings_of_the_right_shape_with_any_values_are_read_or_refused(text in settings()) {
        read(&text)?;
    }

    #[test]
    fn settings_with_damaged_bytes_are_read_or_refused(
        text in settings().prop_flat_map(|text| damage::damaged_bytes(text.into_bytes())),
    ) {
        read(&String::from_utf8_lossy(&text))?;
    }
}

#[test]
fn the_readme_example_is_read() {
    let text = "watch = [\"kick:novastreams\", \"twitch:nebulacast\"]\n[twitch]\nkeepalive_seconds = 30\n\
                poll_while_down_seconds = 60\npoll_while_up_minutes = 180\n[discord]\nshards = \"auto\"\n";
    let config = Config::from_toml(text, Path::new(PATH)).unwrap();
    assert_eq!(config.twitch.config().poll_while_up.as_secs(), 180 * 60);
}
