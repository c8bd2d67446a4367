//! The settings file (onair `Config::from_toml`, config.toml): read or refused with words naming the file;
//! what is read turns into the platforms' configurations without a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use onair::config::Config;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match Config::from_toml(text, Path::new("config.toml")) {
        Ok(config) => {
            let _ = config.twitch.config();
            let _ = config.discord.config();
        }
        Err(e) => assert!(e.to_string().contains("config.toml")),
    }
});
