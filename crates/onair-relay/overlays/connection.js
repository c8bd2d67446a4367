// The connection both overlays share. It reads the page's URL parameters, connects to the relay that
// served the page with socket.io-client (the global `io` of socket.io.min.js), subscribes with the
// filters, and hands each event on exactly once, in offset order. It keeps its position (the offset of the
// last event handed on, or the relay's head when it started) and, after any disconnect (a cut connection,
// a relay restart), subscribes again with `after` set to it: the relay replays what was missed, then goes
// live, in one step.
//
// A fresh page is live only; `after=N` makes it replay the stored events after offset N first. A position
// past the end of the relay's log (from another database, or one replaced since) is reset by the relay to
// its head, and the page continues from there.
//
// What the streamer must fix (no token, a wrong token, filters the relay refuses, a build without the
// Socket.IO client) shows as a notice on the page. The page's state is on <html data-state>: connecting,
// replaying, live, disconnected, unauthorized or failed.

// The page's URL parameters: `token`, the filters (`platforms`, `kinds`, `channels`: comma lists),
// `after`, and the overlay's own (read with `number`).
export function readParams(defaultKinds) {
  const query = new URLSearchParams(window.location.search);
  const list = (name) =>
    query
      .getAll(name)
      .flatMap((value) => value.split(","))
      .map((value) => value.trim())
      .filter((value) => value !== "");
  const kinds = list("kinds");
  const after = query.get("after");
  return {
    token: query.get("token") ?? "",
    filter: {
      platforms: list("platforms").map((p) => p.toLowerCase()),
      kinds: kinds.length > 0 ? kinds.map((k) => k.toLowerCase()) : defaultKinds,
      channels: list("channels"),
    },
    after: after !== null && /^\d+$/.test(after.trim()) ? Number(after) : null,
    // A number parameter within [min, max], or `fallback` when absent or not a number.
    number(name, fallback, min, max) {
      const raw = query.get(name);
      const value = raw === null || raw.trim() === "" ? NaN : Number(raw);
      return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
    },
  };
}

// Shows `message` in a notice on the page (replacing any other); `null` removes it.
export function showNotice(message) {
  let notice = document.getElementById("onair-notice");
  if (message === null) {
    notice?.remove();
    return;
  }
  if (!notice) {
    notice = document.createElement("div");
    notice.id = "onair-notice";
    notice.className = "notice";
    notice.setAttribute("role", "alert");
    const title = document.createElement("strong");
    title.textContent = "OnAir overlay";
    const text = document.createElement("p");
    notice.append(title, text);
    document.body.append(notice);
  }
  notice.querySelector("p").textContent = message;
}

function setState(state) {
  document.documentElement.dataset.state = state;
}

// How long to wait before asking again after a refused request, unless the relay says otherwise.
const RETRY_MS = 2000;

// Connects with `params` (from `readParams`) and calls `onEvent(event)` for each event, once, in order.
export function connect(params, onEvent) {
  setState("connecting");
  if (params.token === "") {
    setState("failed");
    showNotice(
      "No token in the URL: add ?token=… (the relay's token, which \"onair relay token\" prints).",
    );
    return null;
  }
  if (typeof window.io !== "function") {
    setState("failed");
    showNotice(window.onairMissingClient ?? "The Socket.IO client did not load from the relay.");
    return null;
  }

  // The page's position: the offset of the last event handed on (or where it started); where a new
  // connection resumes from.
  let last = params.after;
  // Whether events are dropped: from a (re)connection until the relay answers the subscription.
  let gated = true;
  // The relay keeps no stored events: subscribe without `after` (live is all it has).
  let noStore = false;
  let retryAfter = RETRY_MS;
  let connectedOnce = false;

  const socket = window.io({
    auth: { token: params.token },
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });

  const retry = (delay) => setTimeout(() => socket.connected && start(), delay);

  const refused = (request, answer) => {
    const error = answer?.error ?? { code: "no_answer", message: "no answer" };
    if (["rate_limited", "busy", "not_ready", "no_answer"].includes(error.code)) {
      retry(retryAfter);
      retryAfter = RETRY_MS;
    } else if (error.code === "unavailable" && !noStore) {
      // This relay keeps no stored events: live is all it has.
      console.warn(`OnAir: cannot resume (${error.message}); going on live`);
      noStore = true;
      start();
    } else {
      setState("failed");
      showNotice(`The relay refused this overlay's ${request}: ${error.message}`);
    }
  };

  // Subscribes, resuming from the page's position when it has one (the replay, then live).
  const start = () => {
    gated = true;
    const resuming = last !== null && !noStore;
    const request = resuming ? { ...params.filter, after: last } : params.filter;
    socket.emit("subscribe", request, (answer) => {
      if (!answer?.ok) return refused("subscribe", answer);
      if (typeof answer.reset?.head === "number") {
        // The page's position was past the end of the relay's log: the relay continues from its head, and
        // so does the page (keeping the old position would drop every event up to it).
        const { requested, head } = answer.reset;
        console.warn(`OnAir: position ${requested} is past the relay's log; continuing from ${head}`);
        last = head;
      }
      if (last === null && typeof answer.head === "number") {
        // A fresh page starts live, from the relay's head: a later reconnect resumes from there even if
        // no event was shown before it.
        last = answer.head;
      }
      // The answer comes before any event of this subscription: nothing was dropped.
      gated = false;
      setState(resuming ? "replaying" : "live");
    });
  };

  socket.on("connect", () => {
    connectedOnce = true;
    showNotice(null);
    start();
  });
  socket.on("event", (event) => {
    const offset = event?.offset;
    if (gated || typeof offset !== "number" || (last !== null && offset <= last)) return;
    last = offset;
    try {
      onEvent(event);
    } catch (error) {
      console.error("OnAir: an event could not be shown", error);
    }
  });
  socket.on("replay:done", () => setState("live"));
  socket.on("error", (error) => {
    // A replay that broke off is followed by a disconnect; the reconnect resumes from the page's position.
    console.warn("OnAir: the relay reported", error?.code, error?.message);
  });
  socket.on("rate:limit", (notice) => {
    retryAfter = Math.max(RETRY_MS, Number(notice?.retry_after_ms) || 0);
  });
  socket.on("server:shutdown", (_notice, ack) => {
    ack?.();
  });
  socket.on("disconnect", (reason) => {
    gated = true;
    setState("disconnected");
    // The relay closed this client (it fell behind, or is going away): socket.io does not come back by
    // itself then.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", (error) => {
    const message = String(error?.message ?? "");
    if (message === "unauthorized") {
      setState("unauthorized");
      showNotice(
        "The relay refused the token (unauthorized): put the token that \"onair relay token\" prints in the URL's token= parameter.",
      );
      return;
    }
    if (message.startsWith("unauthorized")) {
      // This address gave too many wrong tokens: refused for a while, the relay says how long.
      setState("unauthorized");
      showNotice(`The relay refused this overlay (${message}).`);
      const seconds = Number(/in (\d+) s/.exec(message)?.[1] ?? 60);
      setTimeout(() => socket.connect(), (seconds + 1) * 1000);
      return;
    }
    setState("disconnected");
    if (!connectedOnce) {
      showNotice(`Cannot reach the OnAir relay at ${window.location.host} yet; retrying…`);
    }
    // A refusal other than the token: socket.io does not retry those by itself.
    if (!socket.active) setTimeout(() => socket.connect(), RETRY_MS);
  });
  return socket;
}
