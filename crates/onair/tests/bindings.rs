//! The UI's TypeScript declarations (`ui/src/lib/bindings.ts`) are generated from the Rust types; this
//! test fails when the checked-in file differs, and rewrites it with `ONAIR_BLESS=1`.

use std::path::Path;

#[test]
fn the_ui_bindings_match_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings.ts");
    let fresh = onair::views::typescript();
    if std::env::var_os("ONAIR_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write bindings.ts");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "{} is stale (the Rust types the UI sees changed): rewrite it with\n  \
         ONAIR_BLESS=1 cargo test -p onair --test bindings\nand check it in",
        path.display()
    );
}

#[test]
fn the_bindings_declare_every_event_kind_with_its_data() {
    let ts = onair::views::typescript();
    for kind in onair_core::EventKind::ALL {
        assert!(
            ts.contains(&format!("{{ kind: \"{kind}\"; data: ")),
            "{kind} has no typed variant in Event"
        );
    }
    assert!(ts.contains("export type Event = {"));
    assert!(ts.contains("export type ConnectionState ="));
    assert!(ts.contains("export type DesktopSettings ="));
}

#[test]
fn the_relay_declarations_match_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/relay.d.ts");
    let fresh = onair_relay::protocol::typescript();
    if std::env::var_os("ONAIR_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write relay.d.ts");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "{} is stale (the relay's messages changed): rewrite it with\n  \
         ONAIR_BLESS=1 cargo test -p onair --test bindings\nand check it in",
        path.display()
    );
    for event in [
        "event",
        "status",
        "\"replay:done\"",
        "\"rate:limit\"",
        "error",
        "\"server:shutdown\"",
    ] {
        assert!(
            fresh.contains(&format!("  {event}: (")),
            "{event} is not declared"
        );
    }
}
