//! Cross-crate end-to-end tests of OnAir live in `tests/tests/*.rs`, named by theme; the programs they drive
//! (a writer to kill mid-stream, later fake platform servers) live in `src/bin/`.
