// A stand-in for Twitch, for the E2E:
// - its OAuth server: /device hands out a device code whose activation page (/activate, opened by the app
//   in its login window) approves it, as a person would; /token answers "authorization_pending" until
//   then, and tokens after; /validate names the account; /revoke counts;
// - Helix: /users and /streams for the look-up, /eventsub/subscriptions (each POST recorded; the follow
//   subscription of a session makes its socket deliver a follow), empty lists for the polling fallback;
// - EventSub on the next port: each connection gets a welcome with its own session id.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const SCOPES = [
  "moderator:read:followers", "channel:read:subscriptions", "bits:read", "moderation:read",
  "channel:read:vips", "channel:moderate",
];
const BROADCASTER = { id: "52731608", login: "nebulacast", name: "NebulaCast" };
/** The follower the stand-in delivers once a session subscribes to follows. */
export const TWITCH_FOLLOWER = "E2eTwitchFollower";

const envelope = (type, payload, subscription) => ({
  metadata: {
    message_id: `${type}-${Math.random().toString(16).slice(2)}`,
    message_type: type,
    message_timestamp: new Date().toISOString(),
    ...(subscription ? { subscription_type: subscription, subscription_version: subscription === "channel.follow" ? "2" : "1" } : {}),
  },
  payload,
});

export function startFakeTwitch(port) {
  const seen = { activated: false, tokens: 0, revoked: 0, sessions: [], subscriptions: [] };
  const sockets = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    let body = "";
    for await (const chunk of req) body += chunk;
    const json = (status, value) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const form = new URLSearchParams(body);
    switch (`${req.method} ${url.pathname}`) {
      case "POST /device":
        return json(200, {
          device_code: "e2e-device-code", expires_in: 600, interval: 1, user_code: "E2ECODE1",
          verification_uri: `http://127.0.0.1:${port}/activate?public=true&device-code=E2ECODE1`,
        });
      case "GET /activate":
        seen.activated = true;
        res.writeHead(200, { "content-type": "text/html" });
        return res.end("<!DOCTYPE html><title>Twitch</title><p>Success! Return to OnAir.</p>");
      case "POST /token":
        if (form.get("grant_type") !== "refresh_token" && !seen.activated) {
          return json(400, { status: 400, message: "authorization_pending" });
        }
        seen.tokens += 1;
        return json(200, {
          access_token: `e2e-twitch-token-${seen.tokens}`, refresh_token: `e2e-twitch-refresh-${seen.tokens}`,
          expires_in: 14000, scope: SCOPES, token_type: "bearer",
        });
      case "GET /validate":
        return json(200, { client_id: "e2e-twitch-app", login: BROADCASTER.login, user_id: BROADCASTER.id, scopes: SCOPES, expires_in: 14000 });
      case "POST /revoke":
        seen.revoked += 1;
        return json(200, {});
      case "GET /users":
        return json(200, { data: [{ id: BROADCASTER.id, login: BROADCASTER.login, display_name: BROADCASTER.name }] });
      case "GET /streams":
      case "GET /channels/followers":
      case "GET /moderation/moderators":
      case "GET /channels/vips":
      case "GET /subscriptions":
        return json(200, { data: [], pagination: {} });
      case "POST /eventsub/subscriptions": {
        const sub = JSON.parse(body);
        seen.subscriptions.push(sub.type);
        json(202, { data: [{ id: `sub-${seen.subscriptions.length}`, status: "enabled", type: sub.type, version: sub.version, cost: 0 }], total: 1, total_cost: 0, max_total_cost: 10 });
        const socket = sockets.get(sub.transport.session_id);
        if (sub.type === "channel.follow" && socket) {
          socket.send(JSON.stringify(envelope("notification", {
            subscription: { id: "sub-follow", type: "channel.follow", version: "2", status: "enabled", cost: 0 },
            event: {
              user_id: "990001", user_login: TWITCH_FOLLOWER.toLowerCase(), user_name: TWITCH_FOLLOWER,
              broadcaster_user_id: BROADCASTER.id, broadcaster_user_login: BROADCASTER.login,
              broadcaster_user_name: BROADCASTER.name, followed_at: new Date().toISOString(),
            },
          }, "channel.follow")));
        }
        return;
      }
      default:
        return json(404, { error: "Not Found", status: 404, message: `no ${req.method} ${url.pathname} here` });
    }
  });
  const eventsub = new WebSocketServer({ host: "127.0.0.1", port: port + 1, path: "/ws" });
  eventsub.on("connection", (socket) => {
    const id = `e2e-session-${seen.sessions.length + 1}`;
    seen.sessions.push(id);
    sockets.set(id, socket);
    socket.on("close", () => sockets.delete(id));
    socket.send(JSON.stringify(envelope("session_welcome", {
      session: { id, status: "connected", connected_at: new Date().toISOString(), keepalive_timeout_seconds: 30, reconnect_url: null },
    })));
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () =>
      resolve({ seen, close: () => { server.close(); eventsub.close(); } }));
  });
}
