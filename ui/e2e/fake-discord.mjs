// A stand-in for Discord, for the E2E:
// - REST on one port, under /api/v10 (ONAIR_DISCORD_API_URL): the bot (/users/@me), its servers
//   (/users/@me/guilds), a server and its channels (/guilds/{id}, /guilds/{id}/channels) and where the
//   Gateway is (/gateway/bot: the next port). Every request needs `Authorization: Bot e2e-discord-token`;
//   any other is answered 401 as Discord does.
// - the Gateway on the next port, over `ws`, with `?compress=zlib-stream` honoured (one deflate stream per
//   connection, each message flushed with Z_SYNC_FLUSH and sent as one binary frame ending in 00 00 ff ff):
//   Hello, heartbeats acknowledged, Identify answered with READY, then a member joins and two messages are
//   posted, one in #off-topic (which the test does not choose) and then one in #general.
import { createServer } from "node:http";
import zlib from "node:zlib";
import { WebSocketServer } from "ws";

export const DISCORD_TOKEN = "e2e-discord-token";
export const DISCORD_BOT = { id: "1379067022540931072", username: "OnAirE2EBot" };
export const DISCORD_GUILD = { id: "1085131932938797063", name: "E2E Lounge" };
export const DISCORD_CHANNELS = [
  { id: "1085131964526100482", name: "general", type: 0 },
  { id: "1085131964526100490", name: "Text Channels", type: 4 },
  { id: "1085131964526100499", name: "off-topic", type: 0 },
];
/** The member who joins, as the feed names them (their server nickname). */
export const DISCORD_JOINER = "E2eDiscordJoiner";
/** The message posted in #general. */
export const DISCORD_MESSAGE = "hello from the e2e discord general channel";
/** The message posted in #off-topic, which is not watched. */
export const DISCORD_UNWATCHED = "this off-topic line must not be recorded";

const user = (id, username, globalName) => ({
  id, username, global_name: globalName, discriminator: "0", avatar: null, public_flags: 0,
});

export function startFakeDiscord(port) {
  const seen = { rest: [], refused: 0, identified: 0, heartbeats: 0, compressed: 0, sessions: [] };
  const server = createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    const json = (status, value) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    seen.rest.push(`${req.method} ${url.pathname}`);
    if (req.headers.authorization !== `Bot ${DISCORD_TOKEN}`) {
      seen.refused += 1;
      return json(401, { message: "401: Unauthorized", code: 0 });
    }
    const path = url.pathname.replace(/^\/api\/v10/, "");
    const guild = path.match(/^\/guilds\/(\d+)(\/channels)?$/);
    if (req.method === "GET" && path === "/users/@me") {
      return json(200, { ...user(DISCORD_BOT.id, DISCORD_BOT.username, null), bot: true });
    }
    if (req.method === "GET" && path === "/users/@me/guilds") {
      return json(200, [{ id: DISCORD_GUILD.id, name: DISCORD_GUILD.name, icon: null, owner: false, permissions: "1152", features: [] }]);
    }
    if (req.method === "GET" && guild) {
      if (guild[1] !== DISCORD_GUILD.id) return json(404, { message: "Unknown Guild", code: 10004 });
      if (guild[2]) {
        return json(200, DISCORD_CHANNELS.map((c, position) => ({ ...c, guild_id: DISCORD_GUILD.id, position })));
      }
      return json(200, { id: DISCORD_GUILD.id, name: DISCORD_GUILD.name, icon: null, owner_id: "1", roles: [] });
    }
    if (req.method === "GET" && path === "/gateway/bot") {
      return json(200, {
        url: `ws://127.0.0.1:${port + 1}`,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14400000, max_concurrency: 1 },
      });
    }
    return json(404, { message: "404: Not Found", code: 0 });
  });

  const gateway = new WebSocketServer({ host: "127.0.0.1", port: port + 1 });
  gateway.on("connection", (socket, req) => {
    const query = new URL(req.url, "ws://127.0.0.1").searchParams;
    const deflate = query.get("compress") === "zlib-stream" ? zlib.createDeflate() : null;
    if (deflate) seen.compressed += 1;
    const chunks = [];
    deflate?.on("data", (chunk) => chunks.push(chunk));
    // Messages go out one after the other: each is written, flushed, and sent as one frame.
    let queue = Promise.resolve();
    let sequence = 0;
    const send = (payload) => {
      queue = queue.then(() => new Promise((resolve) => {
        const text = JSON.stringify(payload);
        if (!deflate) {
          socket.send(text, resolve);
          return;
        }
        deflate.write(text);
        deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          const frame = Buffer.concat(chunks.splice(0));
          socket.send(frame, { binary: true }, resolve);
        });
      }));
    };
    const dispatch = (t, d) => {
      sequence += 1;
      send({ op: 0, s: sequence, t, d });
    };
    const session = `e2e-discord-session-${seen.sessions.length + 1}`;
    seen.sessions.push(session);
    socket.on("close", () => deflate?.close());
    socket.on("message", (data) => {
      let message;
      try {
        message = JSON.parse(String(data));
      } catch {
        socket.close(4002, "Error while decoding payload.");
        return;
      }
      switch (message.op) {
        case 1:
          seen.heartbeats += 1;
          send({ op: 11 });
          return;
        case 2: {
          if (message.d?.token !== DISCORD_TOKEN) {
            socket.close(4004, "Authentication failed.");
            return;
          }
          seen.identified += 1;
          const shard = message.d.shard ?? [0, 1];
          dispatch("READY", {
            v: 10,
            user: { ...user(DISCORD_BOT.id, DISCORD_BOT.username, null), bot: true },
            guilds: [{ id: DISCORD_GUILD.id, unavailable: true }],
            session_id: session,
            session_type: "normal",
            resume_gateway_url: `ws://127.0.0.1:${port + 1}`,
            shard,
            application: { id: DISCORD_BOT.id, flags: 0 },
          });
          const joiner = user("878021663365795851", "e2e.joiner", "E2E Joiner");
          dispatch("GUILD_MEMBER_ADD", {
            guild_id: DISCORD_GUILD.id, user: joiner, nick: DISCORD_JOINER, avatar: null, roles: [],
            joined_at: new Date().toISOString(), premium_since: null, deaf: false, mute: false, flags: 0,
            pending: false,
          });
          const post = (id, channel, content) => dispatch("MESSAGE_CREATE", {
            id, channel_id: channel, guild_id: DISCORD_GUILD.id, channel_type: 0, type: 0, author: joiner,
            member: { roles: [], nick: DISCORD_JOINER, joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
            content, timestamp: new Date().toISOString(), edited_timestamp: null, tts: false,
            mention_everyone: false, mentions: [], mention_roles: [], attachments: [], embeds: [], pinned: false,
          });
          // The unwatched channel first: once #general's line is recorded, this one has been read (and
          // left out) before it.
          post("1573766512429629401", DISCORD_CHANNELS[2].id, DISCORD_UNWATCHED);
          post("1573766512429629444", DISCORD_CHANNELS[0].id, DISCORD_MESSAGE);
          return;
        }
        case 6:
          // No session outlives a connection here: the client starts a new one.
          send({ op: 9, d: false });
          return;
        default:
          return;
      }
    });
    send({ op: 10, d: { heartbeat_interval: 41250 } });
  });

  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () =>
      resolve({ seen, close: () => { server.close(); gateway.close(); } }));
  });
}
