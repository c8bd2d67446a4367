//! What a user types to name a Kick channel to watch: `kick:SLUG`, or with the ids given by hand,
//! `kick:SLUG@CHANNEL_ID/CHATROOM_ID` (for when Kick's website refuses the look-up).

use std::fmt;
use std::str::FromStr;

/// A Kick channel to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSpec {
    /// The channel's slug, as in `kick.com/SLUG` (lower case).
    pub slug: String,
    /// The channel id and chatroom id, when given by hand.
    pub ids: Option<KickIds>,
}

/// The two ids a Kick channel's real-time feeds are named by (they are not the same number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KickIds {
    /// The channel id (`channel.{id}`: follows, subscriptions, stream status).
    pub channel_id: u64,
    /// The chatroom id (`chatrooms.{id}.v2`: chat, moderation).
    pub chatroom_id: u64,
}

/// Why a watch spec was not understood, in words for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a Kick channel: {problem}; write kick:SLUG or kick:SLUG@CHANNEL_ID/CHATROOM_ID")]
pub struct SpecError {
    input: String,
    problem: &'static str,
}

impl FromStr for WatchSpec {
    type Err = SpecError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |problem| SpecError {
            input: input.to_owned(),
            problem,
        };
        let rest = input
            .strip_prefix("kick:")
            .ok_or_else(|| error("it does not start with `kick:`"))?;
        let (slug, ids) = match rest.split_once('@') {
            None => (rest, None),
            Some((slug, ids)) => {
                let (channel, chatroom) = ids
                    .split_once('/')
                    .ok_or_else(|| error("the ids must be CHANNEL_ID/CHATROOM_ID"))?;
                let number = |text: &str| {
                    text.parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| error("the ids must be positive whole numbers"))
                };
                let ids = KickIds {
                    channel_id: number(channel)?,
                    chatroom_id: number(chatroom)?,
                };
                (slug, Some(ids))
            }
        };
        if !is_slug(slug) {
            return Err(error("the slug may only hold letters, digits, `_` and `-`"));
        }
        Ok(WatchSpec {
            slug: slug.to_ascii_lowercase(),
            ids,
        })
    }
}

/// Whether `text` can be a Kick slug: 1 to 64 letters, digits, `_` and `-`.
pub(crate) fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl fmt::Display for WatchSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kick:{}", self.slug)?;
        if let Some(ids) = self.ids {
            write!(f, "@{}/{}", ids.channel_id, ids.chatroom_id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_hand_given_ids_are_read() {
        assert_eq!(
            "kick:NovaStreams".parse::<WatchSpec>().unwrap(),
            WatchSpec {
                slug: "novastreams".into(),
                ids: None
            }
        );
        let spec: WatchSpec = "kick:nova-streams_2@4781203/4760932".parse().unwrap();
        assert_eq!(
            spec.ids,
            Some(KickIds {
                channel_id: 4781203,
                chatroom_id: 4760932
            })
        );
        assert_eq!(spec.to_string(), "kick:nova-streams_2@4781203/4760932");
    }

    #[test]
    fn mistakes_are_explained() {
        for (input, problem) in [
            ("twitch:xqc", "does not start with `kick:`"),
            ("kick:", "the slug may only"),
            ("kick:two words", "the slug may only"),
            ("kick:nova@4781203", "CHANNEL_ID/CHATROOM_ID"),
            ("kick:nova@abc/1", "positive whole numbers"),
            ("kick:nova@0/1", "positive whole numbers"),
        ] {
            let error = input.parse::<WatchSpec>().unwrap_err().to_string();
            assert!(error.contains(problem), "{input}: {error}");
            assert!(error.contains("kick:SLUG@CHANNEL_ID/CHATROOM_ID"), "{error}");
        }
    }
}
