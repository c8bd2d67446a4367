// A stand-in for kick.com, for the E2E:
// - its OAuth server and public API: /oauth/authorize serves a page that first probes whether it can reach
//   OnAir's commands (it must not: the login window has no IPC), reports that to /probe, then returns to
//   the redirect URL with a code like Kick's consent would; /oauth/token, /oauth/revoke,
//   /public/v1/users and /public/v1/channels answer as Kick documents;
// - the website's channel look-up behind a Cloudflare-like check: /api/v2/channels/SLUG answers 403 with
//   a "Just a moment..." page whose script sets a cookie and reloads (or, for slugs starting "human-",
//   only once the page is visible: a person looking at the window), and with the channel's JSON once the
//   cookie is there. The human page reports whether it ran hidden first (/seen/hidden) and when it was
//   shown (/seen/shown).
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const CHANNEL = JSON.parse(readFileSync(new URL("../../fixtures/kick/rest_channel_v2.json", import.meta.url), "utf8"));
const CHALLENGE = (slug, human) => `<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>
<p>Checking your browser before accessing kick.com.</p>
<script>
  function pass() { document.cookie = (${human} ? "cf_human=e2e" : "cf_clearance=e2e") + "; path=/"; location.reload(); }
  const slug = ${JSON.stringify(slug)};
  if (${human}) {
    const seen = (what) => fetch("/seen/" + what + "?slug=" + encodeURIComponent(slug), { method: "POST" });
    const check = () => { if (document.visibilityState === "visible") seen("shown").then(pass); };
    if (document.visibilityState !== "visible") seen("hidden");
    document.addEventListener("visibilitychange", check);
    check();
  } else {
    setTimeout(pass, 300);
  }
</script></body></html>`;

export function startFakeKick(port) {
  const seen = { probe: null, tokens: 0, revoked: 0, clientId: null, challenged: [], cleared: [], hiddenAtFirst: [], shown: [] };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    let body = "";
    for await (const chunk of req) body += chunk;
    const json = (status, value) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const lookup = url.pathname.match(/^\/api\/v2\/channels\/([^/]+)$/);
    if (lookup) {
      const slug = decodeURIComponent(lookup[1]);
      // The automatic check's cookie is kept by the browser and reused; the human check asks for its own.
      const cookie = slug.startsWith("human-") ? "cf_human=e2e" : "cf_clearance=e2e";
      if (!(req.headers.cookie ?? "").includes(cookie)) {
        seen.challenged.push(slug);
        res.writeHead(403, { "content-type": "text/html" });
        res.end(CHALLENGE(slug, slug.startsWith("human-")));
        return;
      }
      seen.cleared.push(slug);
      return json(200, { ...CHANNEL, slug });
    }
    if (url.pathname === "/seen/hidden" || url.pathname === "/seen/shown") {
      (url.pathname.endsWith("hidden") ? seen.hiddenAtFirst : seen.shown).push(url.searchParams.get("slug"));
      res.writeHead(204);
      res.end();
      return;
    }
    switch (url.pathname) {
      case "/oauth/authorize": {
        seen.clientId = url.searchParams.get("client_id");
        const back = new URL(url.searchParams.get("redirect_uri"));
        back.searchParams.set("code", "e2e-code");
        back.searchParams.set("state", url.searchParams.get("state"));
        res.writeHead(200, { "content-type": "text/html" });
        res.end(`<!doctype html><title>Kick (fake)</title><p>Allow OnAir?</p><script>
          (async () => {
            let probe = "no-ipc";
            try {
              if (window.__TAURI_INTERNALS__) {
                await window.__TAURI_INTERNALS__.invoke("overview");
                probe = "ipc-allowed";
              }
            } catch (e) { probe = "ipc-denied"; }
            await fetch("/probe", { method: "POST", body: probe });
            location.href = ${JSON.stringify(back.toString())};
          })();
        </script>`);
        return;
      }
      case "/probe":
        seen.probe = body;
        res.writeHead(204);
        res.end();
        return;
      case "/oauth/token":
        seen.tokens++;
        return json(200, { access_token: "e2e-access", token_type: "Bearer", expires_in: 7200, refresh_token: "e2e-refresh", scope: "user:read channel:read" });
      case "/oauth/revoke":
        seen.revoked++;
        res.writeHead(200);
        res.end();
        return;
      case "/public/v1/users":
        return json(200, { data: [{ user_id: 4242, name: "NovaStreams", email: "", profile_picture: "" }], message: "OK" });
      case "/public/v1/channels":
        return json(200, { data: [{ broadcaster_user_id: 4242, slug: "novastreams", stream_title: "", channel_description: "", category: { id: 1, name: "Just Chatting" } }], message: "OK" });
      default:
        res.writeHead(404);
        res.end();
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve({ seen, close: () => server.close() })));
}
