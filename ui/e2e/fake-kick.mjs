// A stand-in for Kick's OAuth server and public API, for the sign-in E2E: /oauth/authorize serves a page
// that first probes whether it can reach OnAir's commands (it must not: the login window has no IPC),
// reports that to /probe, then returns to the redirect URL with a code like Kick's consent would;
// /oauth/token, /oauth/revoke, /public/v1/users and /public/v1/channels answer as Kick documents.
import { createServer } from "node:http";

export function startFakeKick(port) {
  const seen = { probe: null, tokens: 0, revoked: 0, clientId: null };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    let body = "";
    for await (const chunk of req) body += chunk;
    const json = (status, value) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
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
