//! Catching the browser's return from a sign-in: a one-shot HTTP listener on this computer's loopback, at
//! `http://localhost:PORT/callback` (the redirect URL registered in the user's app; localhost, not
//! 127.0.0.1, which Kick refuses). It answers the browser with a short page and hands the `code` and
//! `state` (or the provider's refusal) to the sign-in. Nothing from the query is echoed into the page.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use onair_core::{LoginGrant, Platform, PlatformError};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The port OnAir listens on for a sign-in's return unless told otherwise; the Kick app must list
/// `http://localhost:41477/callback` as a redirect URL.
pub const DEFAULT_REDIRECT_PORT: u16 = 41477;

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not listen on localhost:{port} for the browser's return ({source}); another program may be using \
     it: pass --port N and add http://localhost:N/callback to your app's redirect URLs"
)]
pub struct BindError {
    /// The port asked for.
    pub port: u16,
    /// The system's words.
    pub source: std::io::Error,
}

/// Listening for one sign-in's return.
pub struct RedirectListener {
    listeners: Vec<TcpListener>,
    port: u16,
}

type Returned = Result<LoginGrant, PlatformError>;

impl RedirectListener {
    /// Listens on `port` (0: any free port) of 127.0.0.1, and of ::1 where the computer has IPv6, since a
    /// browser may resolve `localhost` to either.
    pub async fn bind(port: u16) -> Result<RedirectListener, BindError> {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|source| BindError { port, source })?;
        let port = v4
            .local_addr()
            .map_err(|source| BindError { port, source })?
            .port();
        let mut listeners = vec![v4];
        match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
            Ok(v6) => listeners.push(v6),
            Err(e) => tracing::debug!(error = %e, "no IPv6 loopback for the sign-in's return"),
        }
        Ok(RedirectListener { listeners, port })
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redirect URL to give the provider.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}/callback", self.port)
    }

    /// Waits for the browser to come back (the first `/callback` with a code, or with the provider's
    /// error), answers it, and stops listening.
    pub async fn wait(self, platform: Platform) -> Result<LoginGrant, PlatformError> {
        let (returned, mut first) = mpsc::channel::<Returned>(1);
        let router = Router::new()
            .route("/callback", get(callback))
            .with_state((platform, returned));
        let stop = CancellationToken::new();
        let mut servers = tokio::task::JoinSet::new();
        for listener in self.listeners {
            let (router, stop) = (router.clone(), stop.clone());
            servers.spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
                if let Err(e) = served {
                    tracing::warn!(error = %e, "the sign-in listener stopped");
                }
            });
        }
        drop(router);
        let outcome = first.recv().await.unwrap_or_else(|| {
            Err(PlatformError::SignInAborted {
                platform,
                detail: "the listener for the browser's return stopped".to_owned(),
            })
        });
        stop.cancel();
        while servers.join_next().await.is_some() {}
        outcome
    }
}

async fn callback(
    State((platform, returned)): State<(Platform, mpsc::Sender<Returned>)>,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Html<String>) {
    let outcome = if let Some(error) = query.get("error") {
        let said = query
            .get("error_description")
            .map(|d| format!("{error}: {d}"))
            .unwrap_or_else(|| error.clone());
        Err(PlatformError::SignInAborted {
            platform,
            detail: format!("{platform} said {said}"),
        })
    } else if let (Some(code), Some(state)) = (query.get("code"), query.get("state")) {
        Ok(LoginGrant::Redirect {
            code: code.clone(),
            state: state.clone(),
        })
    } else {
        return (
            StatusCode::BAD_REQUEST,
            page(
                "This is not a sign-in's return",
                "OnAir is still waiting for the sign-in.",
            ),
        );
    };
    let page = match &outcome {
        Ok(_) => page(
            "Back to OnAir",
            &format!("The {platform} sign-in came back to OnAir. You can close this tab."),
        ),
        Err(_) => page(
            "Sign-in cancelled",
            &format!("{platform} did not sign you in. You can close this tab and try again from OnAir."),
        ),
    };
    // Only the first return counts; later ones (a reload) find the channel full or closed.
    let _ = returned.try_send(outcome);
    (StatusCode::OK, page)
}

/// A small self-contained page (no scripts, nothing remote). `title` and `text` are OnAir's own words.
fn page(title: &str, text: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>OnAir: {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:20vh auto;padding:0 1rem;\
         color:#222}}@media(prefers-color-scheme:dark){{body{{background:#111;color:#eee}}}}</style></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    ))
}
