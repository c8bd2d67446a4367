//! Property tests of the JSONL import: a line that is not an event (random text, an event's JSON with a
//! field of the wrong type or missing, its text with bytes changed or cut) is never a panic but an error
//! naming what is wrong, and a line that is one reads back as an event whose own line reads back the same;
//! an import of a file mixing good and bad lines stores every good one and reports every bad one by its
//! number.
#![allow(clippy::unwrap_used)]

use onair::import::import_jsonl;
use onair_core::{Event, Platform, sample};
use onair_store::Store;
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../tests/support/damage.rs"]
mod damage;

/// Every kind of event on every platform, as JSONL lines.
fn lines() -> Vec<String> {
    [Platform::Kick, Platform::Twitch, Platform::Discord]
        .into_iter()
        .flat_map(sample::every_kind)
        .enumerate()
        .map(|(i, mut event)| {
            event.offset = Some(onair_core::Offset(i as i64 + 1));
            event.to_json_line()
        })
        .collect()
}

/// Reads one line: an event whose line reads back the same, or an error that says what is wrong.
fn read(line: &str) -> Result<Option<Event>, TestCaseError> {
    match Event::from_json(line) {
        Ok(event) => {
            let again = event.to_json_line();
            let reread = Event::from_json(&again);
            prop_assert!(
                reread.is_ok(),
                "{again}: {:?}",
                reread.err().map(|e| e.to_string())
            );
            prop_assert_eq!(reread.unwrap(), event.clone());
            Ok(Some(event))
        }
        Err(e) => {
            let message = e.to_string();
            let prefix = "not an OnAir event (JSON v1): ";
            prop_assert!(
                message.starts_with(prefix) && message.len() > prefix.len(),
                "{message}"
            );
            Ok(None)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(damage::CASES))]

    #[test]
    fn random_lines_are_refused_in_words(line in prop_oneof!["\\PC*", damage::any_json().prop_map(|v| v.to_string())]) {
        read(&line)?;
    }

    #[test]
    fn events_with_damaged_fields_are_read_or_refused(
        doc in damage::one_damaged(lines().iter().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect()),
    ) {
        read(&doc.to_string())?;
    }

    #[test]
    fn events_with_damaged_bytes_are_read_or_refused(line in damage::one_damaged_text(lines())) {
        read(&line)?;
    }
}

/// A line of an import file: a sample event, one damaged (its fields, or its bytes: maybe no longer
/// UTF-8), or random text.
fn file_line() -> impl Strategy<Value = Vec<u8>> {
    let documents: Vec<Value> = lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    prop_oneof![
        2 => prop::sample::select(lines()).prop_map(String::into_bytes),
        1 => prop::sample::select(lines()).prop_flat_map(|l| damage::damaged_bytes(l.into_bytes())),
        1 => damage::one_damaged(documents).prop_map(|v| v.to_string().into_bytes()),
        1 => "\\PC{0,40}".prop_map(String::into_bytes),
    ]
}

proptest! {
    // Each case opens a SQLite database: fewer of them.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn an_import_stores_every_good_line_and_reports_every_bad_one(
        file in prop::collection::vec(file_line(), 0..12),
    ) {
        // A line is what the reader sees between newlines (damage may add some).
        let bytes = file.join(&b'\n');
        let mut expected_bad = Vec::new();
        let mut good = 0;
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Ok(line) = std::str::from_utf8(line) else {
                expected_bad.push((i + 1, "not UTF-8 text"));
                continue;
            };
            if line.trim().is_empty() {
                continue;
            }
            match read(line)? {
                Some(_) => good += 1,
                None => expected_bad.push((i + 1, "not an OnAir event (JSON v1): ")),
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let report = runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path().join("onair.db")).await.unwrap();
            let report = import_jsonl(&store.writer(), bytes.as_slice()).await.unwrap();
            store.close().await;
            report
        });
        let bad: Vec<usize> = report.bad_lines.iter().map(|b| b.line).collect();
        prop_assert_eq!(bad, expected_bad.iter().map(|(line, _)| *line).collect::<Vec<_>>());
        for (bad, (_, why)) in report.bad_lines.iter().zip(&expected_bad) {
            prop_assert!(bad.error.starts_with(why) && bad.error.len() > why.len(), "{bad:?}");
        }
        // Every good line stored, or recognised as one already stored (damaged copies of one sample may
        // share its id or source); none refused.
        prop_assert_eq!(report.refused, 0, "{:?}", report);
        prop_assert_eq!(report.added + report.duplicates, good, "{:?}", report);
    }
}
