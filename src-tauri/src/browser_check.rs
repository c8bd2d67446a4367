//! Kick look-ups past Cloudflare's browser check: the page kick.com answered with a challenge is loaded
//! in a hidden webview of the app (a real browser engine, which runs the check and keeps its cookie for
//! the next look-up); once the page is the JSON answer, a small script hands its text back by navigating
//! to an address the app intercepts (no IPC: the page is remote and gets no capability). A check that
//! has not passed after a few seconds needs a human: the window is then shown, and closing it gives up.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use onair_core::{Platform, PlatformError};
use onair_kick::BrowserFetch;
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Url, WebviewUrl, WebviewWindowBuilder};
use tokio::sync::oneshot;

use crate::lock;

/// Where the script sends the page's text; never loaded, only intercepted.
const RESULT_URL: &str = "https://onair.invalid/browser-check-result";
/// How long the check may run unseen before the window is shown for a human.
const UNSEEN: Duration = Duration::from_secs(8);
/// How long a human has to pass it.
const WITH_HUMAN: Duration = Duration::from_secs(3 * 60);

/// Run at each page load: when the page is JSON (the answer, not the check), send its text back.
const READ_ANSWER: &str = r#"(() => {
  const text = document.body ? document.body.innerText : "";
  try { JSON.parse(text); } catch (e) { return; }
  location.href = "https://onair.invalid/browser-check-result?body=" + encodeURIComponent(text);
})();"#;

/// The hidden-webview browser of the app.
pub struct WebviewBrowser {
    app: AppHandle,
    opened: AtomicU32,
}

impl WebviewBrowser {
    /// A browser opening its windows in `app`.
    pub fn new(app: AppHandle) -> WebviewBrowser {
        WebviewBrowser {
            app,
            opened: AtomicU32::new(0),
        }
    }
}

type Answer = Result<String, String>;

#[async_trait]
impl BrowserFetch for WebviewBrowser {
    async fn fetch(&self, url: &str) -> Result<String, PlatformError> {
        let refused = |detail: String| PlatformError::Refused {
            platform: Platform::Kick,
            detail,
        };
        let target: Url = url
            .parse()
            .map_err(|e| refused(format!("the look-up address is not valid: {e}")))?;
        let label = format!("browser-check-{}", self.opened.fetch_add(1, Ordering::Relaxed));
        let (answered, answer) = oneshot::channel::<Answer>();
        let answered = Arc::new(Mutex::new(Some(answered)));
        let send = move |result: Answer| {
            if let Some(answered) = lock(&answered).take() {
                let _ = answered.send(result);
            }
        };
        let on_result = send.clone();
        let window = WebviewWindowBuilder::new(&self.app, &label, WebviewUrl::External(target))
            .title("kick.com asks for a browser check · OnAir")
            .inner_size(480.0, 640.0)
            .visible(false)
            .on_navigation(move |to| {
                if !to.as_str().starts_with(RESULT_URL) {
                    return true;
                }
                let body = to
                    .query_pairs()
                    .find(|(key, _)| key == "body")
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default();
                on_result(Ok(body));
                false
            })
            .on_page_load(|window, payload| {
                if payload.event() == PageLoadEvent::Finished {
                    let _ = window.eval(READ_ANSWER);
                }
            })
            .build()
            .map_err(|e| refused(format!("the browser check could not open a window: {e}")))?;
        let on_close = send;
        window.on_window_event(move |event| {
            if let tauri::WindowEvent::Destroyed = event {
                on_close(Err(
                    "the browser check window was closed before kick.com answered".into(),
                ));
            }
        });
        let mut answer = answer;
        let outcome = match tokio::time::timeout(UNSEEN, &mut answer).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::info!(%url, "kick.com's browser check needs a human: showing it");
                let _ = window.show();
                let _ = window.set_focus();
                tokio::time::timeout(WITH_HUMAN, answer)
                    .await
                    .unwrap_or(Ok(Err("kick.com's browser check was not passed in time".into())))
            }
        };
        let _ = window.destroy();
        match outcome {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(detail)) => Err(refused(detail)),
            Err(_) => Err(refused("the browser check stopped".into())),
        }
    }
}
