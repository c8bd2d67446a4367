//! `docs/events.md` documents every kind, and each example in it is real: it decodes as that kind's data
//! and encodes back to the same JSON (so no field is missing or misnamed).

#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

use onair_core::{Event, EventData, EventKind};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md")).unwrap()
}

/// `(heading kind, first json block after it)` for every `### `kind`` section.
fn sections(doc: &str) -> Vec<(String, String)> {
    doc.split("\n### `")
        .skip(1)
        .map(|section| {
            let kind = section.split('`').next().unwrap().to_owned();
            let json = section
                .split("```json\n")
                .nth(1)
                .unwrap()
                .split("\n```")
                .next()
                .unwrap()
                .to_owned();
            (kind, json)
        })
        .collect()
}

#[test]
fn every_kind_is_documented_once_in_order_with_a_real_example() {
    let doc = doc();
    let sections = sections(&doc);
    let documented: Vec<&str> = sections.iter().map(|(k, _)| k.as_str()).collect();
    let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        documented, kinds,
        "docs/events.md must have one section per kind, in EventKind::ALL order"
    );
    for (kind, json) in &sections {
        let kind: EventKind = kind.parse().unwrap();
        let data = EventData::from_json(kind, json).unwrap_or_else(|e| panic!("example of {kind}: {e}"));
        let written: serde_json::Value = serde_json::to_value(&data).unwrap();
        let example: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            written, example,
            "the example of {kind} must list exactly the fields OnAir writes"
        );
    }
}

#[test]
fn the_envelope_example_is_a_valid_event() {
    let doc = doc();
    let envelope = doc
        .split("```json\n")
        .nth(1)
        .unwrap()
        .split("\n```")
        .next()
        .unwrap();
    let event = Event::from_json(envelope).unwrap();
    let written: serde_json::Value = serde_json::from_str(&event.to_json_line()).unwrap();
    let example: serde_json::Value = serde_json::from_str(envelope).unwrap();
    assert_eq!(written, example);
}
