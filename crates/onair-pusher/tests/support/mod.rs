//! Helpers shared by the Pusher client's tests: real peers on loopback. Include with `mod support;`.

#![allow(dead_code)] // Each test binary uses a different part.

pub mod soketi;
