//! A stand-in for Twitch's token check and Helix (a wiremock server), answering as Twitch answers a
//! broadcaster's own token with every scope: the token checked, the channel looked up, no stream, every
//! EventSub subscription created (or, for the types said to exist already, refused with Twitch's 409),
//! nobody in the polling fallback's follower list. Tests mount more mocks on it for what they need.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Whose token it is, and how the stand-in answers.
#[derive(Debug, Clone)]
pub struct HelixStandIn {
    /// The access token `/validate` accepts (as `Authorization: OAuth TOKEN`).
    pub token: String,
    /// The app's client id `/validate` reports.
    pub client_id: String,
    /// The broadcaster's user id.
    pub user_id: String,
    /// Its login (what `/users?login=` finds).
    pub login: String,
    /// Its display name.
    pub display_name: String,
    /// Seconds the token has left, as `/validate` says.
    pub expires_in: u64,
    /// EventSub subscription types that already exist (created with a 409, as Twitch answers).
    pub existing: Vec<String>,
}

impl HelixStandIn {
    /// Starts the stand-in on a loopback port (its URI serves as both the auth and the Helix base URL).
    pub async fn start(&self) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/validate"))
            .and(header("authorization", format!("OAuth {}", self.token).as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "client_id": self.client_id, "login": self.login, "user_id": self.user_id,
                "scopes": crate::subscriptions::scopes(), "expires_in": self.expires_in,
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/users"))
            .and(query_param("login", self.login.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
                "id": self.user_id, "login": self.login, "display_name": self.display_name,
            }]})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/streams"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
            .mount(&server)
            .await;
        let existing = self.existing.clone();
        Mock::given(method("POST"))
            .and(path("/eventsub/subscriptions"))
            .respond_with(move |request: &Request| {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                if existing.iter().any(|t| body["type"] == t.as_str()) {
                    return ResponseTemplate::new(409).set_body_json(json!({
                        "error": "Conflict", "status": 409, "message": "subscription already exists",
                    }));
                }
                ResponseTemplate::new(202).set_body_json(json!({
                    "data": [{"id": format!("sub-{}", body["type"]), "status": "enabled", "type": body["type"],
                              "version": body["version"], "condition": body["condition"], "cost": 0,
                              "transport": body["transport"], "created_at": "2026-11-29T20:00:00Z"}],
                    "total": 1, "total_cost": 0, "max_total_cost": 10,
                }))
            })
            .mount(&server)
            .await;
        // The polling fallback's follower list: nobody (the other lists are not served: an unreadable
        // list concludes nothing).
        Mock::given(method("GET"))
            .and(path("/channels/followers"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "pagination": {}})))
            .mount(&server)
            .await;
        server
    }
}
