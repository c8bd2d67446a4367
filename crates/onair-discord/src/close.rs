//! What the Gateway's close codes mean for the next connection: resume the session, start a new one, or
//! stop and tell the user what to fix (in plain words).

/// What to do after the Gateway closed the connection with a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterClose {
    /// Reconnect and resume the session (`Resume` with the last sequence).
    Resume,
    /// Reconnect with a new session (`Identify`): the old one cannot be resumed.
    Reidentify,
    /// Do not reconnect: `reason` says what happened and what to do.
    Fatal {
        /// A sentence for the user.
        reason: String,
    },
}

/// The action for close `code` (`None`: the connection dropped without a close frame).
pub fn after_close(code: Option<u16>) -> AfterClose {
    let fatal = |reason: &str| AfterClose::Fatal {
        reason: reason.to_owned(),
    };
    match code {
        // Unknown error, unknown opcode, decode error, rate limited (our fault, but the session holds); no
        // close frame; any code Discord does not document.
        None | Some(4000 | 4001 | 4002 | 4008) => AfterClose::Resume,
        // Not authenticated, already authenticated, invalid seq, session timed out: a new session.
        Some(4003 | 4005 | 4007 | 4009) => AfterClose::Reidentify,
        Some(4004) => fatal(
            "Discord refused the bot token (4004 authentication failed): paste the bot's token again from \
             the Developer Portal (Bot > Reset Token)",
        ),
        Some(4010) => fatal(
            "Discord refused the shard (4010 invalid shard): set shards = \"auto\" under [discord] in the \
             settings file (config.toml)",
        ),
        Some(4011) => fatal(
            "the bot is in too many servers for one connection (4011 sharding required): set shards = \"auto\" \
             under [discord] in the settings file (config.toml)",
        ),
        Some(4012) => fatal("Discord refused the Gateway version (4012 invalid API version): update OnAir"),
        Some(4013) => {
            fatal("Discord refused the intents OnAir asked for (4013 invalid intents): update OnAir")
        }
        Some(4014) => fatal(
            "Discord refused a privileged intent (4014 disallowed intents): turn on the Server Members intent \
             and the Message Content intent for the bot in the Developer Portal (Bot > Privileged Gateway \
             Intents)",
        ),
        Some(_) => AfterClose::Resume,
    }
}
