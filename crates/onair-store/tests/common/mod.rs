//! Helpers shared by the store's tests: a real database file in a fresh temporary folder.

#![allow(dead_code)]

use onair_store::{Store, StoreOptions};
use tempfile::TempDir;

/// A store in its own temporary folder (removed when the returned `TempDir` drops).
pub async fn temp_store() -> (Store, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("onair.db"))
        .await
        .expect("open store");
    (store, dir)
}

/// A store with custom options in its own temporary folder.
pub async fn temp_store_with(edit: impl FnOnce(&mut StoreOptions)) -> (Store, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = StoreOptions::new(dir.path().join("onair.db"));
    edit(&mut options);
    let store = Store::open_with(options).await.expect("open store");
    (store, dir)
}
