// A stand-in for Kick's Pusher server, for the E2E (the app reaches it through ONAIR_KICK_PUSHER_URL): each
// connection is greeted as Pusher does (`pusher:connection_established`), every `pusher:subscribe` is
// confirmed and every `pusher:ping` answered, and the test sends Kick's frames down the latest connection,
// one at a time or as a blast of thousands written as fast as the socket takes them.
import { readFileSync } from "node:fs";
import { WebSocketServer } from "ws";

const CHAT = JSON.parse(readFileSync(new URL("../../fixtures/kick/chat_basic.json", import.meta.url), "utf8"));
/** The Kick ids of the fixtures' channel (`kick:SLUG@CHANNEL/CHATROOM`). */
export const KICK_CHANNEL_ID = 4781203;
export const KICK_CHATROOM_ID = 4760932;

/**
 * Kick's chat frame (fixtures/kick/chat_basic.json) whose message id is `crash-N` (so its source id is
 * `chat:crash-N`) and whose text is `crash blast N`.
 */
export function chatFrame(n) {
  const data = JSON.parse(CHAT.data);
  return JSON.stringify({ ...CHAT, data: JSON.stringify({ ...data, id: `crash-${n}`, content: `crash blast ${n}` }) });
}

export function startFakePusher(port) {
  const seen = { connections: 0, subscribed: [] };
  let latest = null;
  const wss = new WebSocketServer({ host: "127.0.0.1", port });
  wss.on("connection", (ws) => {
    seen.connections++;
    // Each connection's subscriptions start empty: a reconnected client subscribes again.
    seen.subscribed = [];
    latest = ws;
    ws.on("error", () => {});
    ws.on("message", (raw) => {
      let frame;
      try {
        frame = JSON.parse(String(raw));
      } catch {
        return;
      }
      if (frame.event === "pusher:ping") ws.send(JSON.stringify({ event: "pusher:pong", data: "{}" }));
      if (frame.event === "pusher:subscribe") {
        const channel = (typeof frame.data === "string" ? JSON.parse(frame.data) : frame.data)?.channel;
        if (ws === latest) seen.subscribed.push(channel);
        ws.send(JSON.stringify({ event: "pusher_internal:subscription_succeeded", channel, data: "{}" }));
      }
    });
    ws.send(JSON.stringify({ event: "pusher:connection_established", data: JSON.stringify({ socket_id: `${seen.connections}.1`, activity_timeout: 120 }) }));
  });
  const open = () => {
    if (!latest || latest.readyState !== latest.OPEN) throw new Error("no client connected to the stand-in Pusher");
    return latest;
  };
  return new Promise((resolve, reject) => {
    wss.on("error", reject);
    wss.on("listening", () =>
      resolve({
        seen,
        url: `ws://127.0.0.1:${port}/app/e2e-key?protocol=7&client=js&version=8.4.0&flash=false`,
        /** Sends one frame on the latest connection. */
        send: (frame) => open().send(frame),
        /**
         * Writes `frames` on the latest connection as fast as it takes them (ws queues what the socket has not
         * taken yet); resolves with how many were written to the socket when the connection ends or all were.
         */
        blast: (frames) => {
          const ws = open();
          let written = 0;
          return new Promise((done) => {
            ws.once("close", () => done(written));
            for (const frame of frames) ws.send(frame, (error) => { if (!error && ++written === frames.length) done(written); });
          });
        },
        close: () => {
          for (const client of wss.clients) client.terminate();
          wss.close();
        },
      }),
    );
  });
}
