//! The relay's requests (onair-relay `SubscribeRequest`, `ResumeRequest`) as a client's JSON: read or
//! refused with words, a position read is never negative, a request read back from its own JSON is the
//! same, and a filter read matches events without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_core::{Platform, sample};
use onair_relay::protocol::{ResumeRequest, SubscribeRequest};

fuzz_target!(|bytes: &[u8]| {
    match serde_json::from_slice::<SubscribeRequest>(bytes) {
        Ok(request) => {
            assert!(request.after.is_none_or(|after| after >= 0));
            let json = serde_json::to_vec(&request).expect("a request serializes");
            let again: SubscribeRequest = serde_json::from_slice(&json).expect("its own JSON reads back");
            assert_eq!(again, request);
            for event in sample::every_kind(Platform::Twitch) {
                let _ = request.filter.matches(&event);
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    match serde_json::from_slice::<ResumeRequest>(bytes) {
        Ok(request) => assert!(request.after >= 0),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
