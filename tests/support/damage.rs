//! Inputs for the decoders' property tests (each crate's `tests/*_props.rs` includes this file): real
//! documents (the fixtures, sample events) damaged in a few places while the rest stays valid, so a decoder
//! meets JSON that is almost right (a field of the wrong type, one missing, a number out of range, an
//! object where a string was) and not only random bytes; and byte-level damage to a document's text (bytes
//! changed, inserted or removed, the end cut off).
#![allow(dead_code)]

use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// The properties' case count: enough to find the usual mistakes, small enough for CI on two cores.
pub const CASES: u32 = 256;

/// Every `*.json` file of a fixtures folder (sorted, `expected.json` left out), as `(name, text)`.
pub fn fixtures(folder: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.expect("a fixtures folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .filter(|path| path.file_name().is_some_and(|n| n != "expected.json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                text,
            )
        })
        .collect();
    files.sort();
    files
}

/// Text that is often special to a decoder: times, numbers as text, markup, escapes, nothing.
fn tricky_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("2026-05-22T18:42:07+00:00".to_owned()),
        Just("2026-05-22 18:00:03".to_owned()),
        Just("+262143-12-31T23:59:59Z".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("1e400".to_owned()),
        Just("[emote:37226:KEKW]".to_owned()),
        Just("[emote:".to_owned()),
        Just("<a:x:1>".to_owned()),
        Just("<:".to_owned()),
        Just("\u{0}\u{1f}\\\"".to_owned()),
        Just("é日本語🔥".to_owned()),
        Just("{\"a\":1}".to_owned()),
        "\\PC{0,24}",
    ]
}

/// Any JSON value, a few levels deep at most, with the numbers and strings decoders trip on.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![Just(0_i64), Just(-1), Just(1), Just(i64::MIN), Just(i64::MAX)].prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>().prop_map(Value::from),
        prop_oneof![Just(0.5_f64), Just(-0.0), Just(1e300), Just(-1e300)].prop_map(Value::from),
        tricky_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// One step from a value to one inside it.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

/// The path to every value in `value`, itself first.
fn paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(here.clone());
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    here.push(Step::Key(key.clone()));
                    walk(inner, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    here.push(Step::At(i));
                    walk(inner, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// What is done to one value of a document.
#[derive(Debug, Clone)]
pub enum Damage {
    /// Replaced by another value (often of another type).
    Replace(Value),
    /// Taken out of its object or array (the whole document becomes `null`).
    Remove,
    /// Replaced by its own JSON text, as a string (a number sent as text, an object JSON-encoded).
    Stringify,
    /// A string's content parsed, when it is JSON (a JSON-encoded payload unwrapped), else emptied.
    Unwrap,
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => any_json().prop_map(Damage::Replace),
        2 => Just(Damage::Remove),
        1 => Just(Damage::Stringify),
        1 => Just(Damage::Unwrap),
    ]
}

/// Does `damage` to the value at `path` in `doc`.
fn apply(doc: &mut Value, path: &[Step], damage: Damage) {
    let Some((last, parent_path)) = path.split_last() else {
        *doc = match damage {
            Damage::Replace(value) => value,
            Damage::Remove => Value::Null,
            Damage::Stringify => Value::String(doc.to_string()),
            Damage::Unwrap => unwrap(doc),
        };
        return;
    };
    let mut parent = &mut *doc;
    for step in parent_path {
        parent = match (step, parent) {
            (Step::Key(key), Value::Object(map)) => map.get_mut(key).expect("a path into the document"),
            (Step::At(i), Value::Array(items)) => &mut items[*i],
            _ => unreachable!("paths follow the document"),
        };
    }
    match (last, parent, damage) {
        (Step::Key(key), Value::Object(map), Damage::Remove) => {
            map.remove(key);
        }
        (Step::At(i), Value::Array(items), Damage::Remove) => {
            items.remove(*i);
        }
        (Step::Key(key), Value::Object(map), damage) => {
            let slot = map.get_mut(key).expect("a path into the document");
            *slot = changed(slot, damage);
        }
        (Step::At(i), Value::Array(items), damage) => items[*i] = changed(&items[*i], damage),
        _ => unreachable!("paths follow the document"),
    }
}

fn changed(value: &Value, damage: Damage) -> Value {
    match damage {
        Damage::Replace(other) => other,
        Damage::Remove => Value::Null,
        Damage::Stringify => Value::String(value.to_string()),
        Damage::Unwrap => unwrap(value),
    }
}

fn unwrap(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::String(String::new())),
        other => other.clone(),
    }
}

/// `doc` damaged in one to three places (each a value anywhere in it, the document itself included).
pub fn damaged(doc: Value) -> impl Strategy<Value = Value> {
    prop::collection::vec((any::<Index>(), damage()), 1..=3).prop_map(move |damages| {
        let mut doc = doc.clone();
        for (index, damage) in damages {
            let paths = paths(&doc);
            let path = index.get(&paths).clone();
            apply(&mut doc, &path, damage);
        }
        doc
    })
}

/// One of `docs`, damaged (see [`damaged`]).
pub fn one_damaged(docs: Vec<Value>) -> impl Strategy<Value = Value> {
    prop::sample::select(docs).prop_flat_map(damaged)
}

/// One byte-level change.
#[derive(Debug, Clone)]
enum Edit {
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Flip(Index, u8),
}

/// `bytes` with one to eight bytes changed, inserted or removed, and perhaps the end cut off.
pub fn damaged_bytes(bytes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let edit = prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<Index>(),
            prop_oneof![any::<u8>(), Just(b'"'), Just(b'{'), Just(b'\\'), Just(b'}')]
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Remove),
        (any::<Index>(), 0_u8..8).prop_map(|(i, bit)| Edit::Flip(i, bit)),
    ];
    (
        prop::collection::vec(edit, 1..=8),
        proptest::option::of(any::<Index>()),
    )
        .prop_map(move |(edits, cut)| {
            let mut bytes = bytes.clone();
            for edit in edits {
                if bytes.is_empty() {
                    break;
                }
                match edit {
                    Edit::Set(i, b) => {
                        let i = i.index(bytes.len());
                        bytes[i] = b;
                    }
                    Edit::Insert(i, b) => {
                        let i = i.index(bytes.len() + 1);
                        bytes.insert(i, b);
                    }
                    Edit::Remove(i) => {
                        let i = i.index(bytes.len());
                        bytes.remove(i);
                    }
                    Edit::Flip(i, bit) => {
                        let i = i.index(bytes.len());
                        bytes[i] ^= 1 << bit;
                    }
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

/// One of `texts` with byte-level damage, as text again (invalid UTF-8 replaced).
pub fn one_damaged_text(texts: Vec<String>) -> impl Strategy<Value = String> {
    prop::sample::select(texts)
        .prop_flat_map(|text| damaged_bytes(text.into_bytes()))
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}
