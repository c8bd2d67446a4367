//! The ready-made overlays the relay serves over plain HTTP for OBS browser sources: `/overlays/alerts`
//! (follows, subscriptions, gifts, raids and cheers, one animated alert at a time) and `/overlays/chat`
//! (the chat, emotes as images). This module owns their files (the pages, scripts and styles committed in
//! `overlays/`, and socket.io-client's browser bundle, which `build.rs` copies from npm's install or
//! replaces with a script that says the build lacks it), embedded in the binary, and how they are served:
//! their content types, revalidated caching (`no-cache` with an `ETag`), and headers that keep the page's
//! URL, which carries the token, to itself. Requests are never logged.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One file served under `/overlays/`.
struct Asset {
    /// Its path.
    path: &'static str,
    /// Its content type.
    content_type: &'static str,
    /// Its bytes.
    body: &'static [u8],
    /// Its entity tag: a hash of the bytes, quoted.
    etag: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// What a page may load: its own scripts and styles from the relay, emote images from any HTTPS host
/// (the platforms' CDNs redirect), its Socket.IO connection back to the relay; nothing inline.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
                           connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'";

/// A 64-bit FNV-1a hash of `bytes`, at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `hash` as an entity tag: 16 hex digits in quotes.
const fn etag(hash: u64) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut tag = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        tag[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    tag
}

/// An [`Asset`] from a path, a content type and the file's bytes (`include_bytes!`).
macro_rules! asset {
    ($path:literal, $content_type:expr, $body:expr) => {{
        const BODY: &[u8] = $body;
        const TAG: [u8; 18] = etag(fnv1a(BODY));
        Asset {
            path: $path,
            content_type: $content_type,
            body: BODY,
            etag: match std::str::from_utf8(&TAG) {
                Ok(tag) => tag,
                Err(_) => panic!("an entity tag is ASCII"),
            },
        }
    }};
}

/// A committed file of `overlays/`.
macro_rules! overlay_file {
    ($path:literal, $content_type:expr, $file:literal) => {
        asset!(
            $path,
            $content_type,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/overlays/", $file))
        )
    };
}

/// Every file served, by path.
static ASSETS: [Asset; 10] = [
    overlay_file!("/overlays/alerts", HTML, "alerts.html"),
    overlay_file!("/overlays/chat", HTML, "chat.html"),
    overlay_file!("/overlays/alerts.js", JS, "alerts.js"),
    overlay_file!("/overlays/chat.js", JS, "chat.js"),
    overlay_file!("/overlays/connection.js", JS, "connection.js"),
    overlay_file!("/overlays/richtext.js", JS, "richtext.js"),
    overlay_file!("/overlays/common.css", CSS, "common.css"),
    overlay_file!("/overlays/alerts.css", CSS, "alerts.css"),
    overlay_file!("/overlays/chat.css", CSS, "chat.css"),
    // socket.io-client's bundle, or the script that says this build lacks it (see build.rs).
    asset!(
        "/overlays/socket.io.min.js",
        JS,
        include_bytes!(concat!(env!("OUT_DIR"), "/socket.io.min.js"))
    ),
];

/// The overlays' routes; the relay adds its Socket.IO layer and CORS around them.
pub(crate) fn routes() -> Router {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(asset.path, get(move |headers: HeaderMap| serve(asset, headers)))
    })
}

/// `asset`, or `304 Not Modified` when the client's copy (`If-None-Match`) is current.
async fn serve(asset: &'static Asset, request: HeaderMap) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // Embedded in the binary, so they change with an update: revalidated each time, cheaply.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The page's URL holds the token: never sent along with emote images or anywhere else.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if asset.content_type == HTML {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
    }
    let current = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == asset.etag || tag.trim() == "*");
    if current {
        (StatusCode::NOT_MODIFIED, headers).into_response()
    } else {
        (headers, asset.body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags_are_quoted_hex_of_the_content() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(&etag(0x0123_4567_89ab_cdef), b"\"0123456789abcdef\"");
        let mut paths: Vec<_> = ASSETS.iter().map(|a| a.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ASSETS.len(), "each path once");
        assert!(ASSETS.iter().all(|a| a.etag.len() == 18 && !a.body.is_empty()));
    }
}
