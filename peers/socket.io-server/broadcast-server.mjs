// The reference side of onair-relay's benchmark (`cargo xtask bench relay`): a plain socket.io server (npm
// `socket.io`, the reference Socket.IO server) serving the relay's protocol the plain way, so the same client
// driver (../socket.io-client/bench-clients.mjs) can measure both with the same events.
//
//   node broadcast-server.mjs TOKEN
//
// Listens on 127.0.0.1, on a free port, and prints `{"listening":{"port":N}}` on stdout once it accepts
// connections. A client must give `auth: { token: TOKEN }` (else `connect_error` "unauthorized", as the
// relay does); `subscribe` (any filter: every event matches) puts it in the room of subscribers and is
// acknowledged with `{ ok: true, filter }`.
// stdin: one event per line, the event's JSON v1 object exactly as the relay sends it; each is parsed once and
// broadcast to the subscribers with `io.to(room).emit("event", payload)` (socket.io encodes a broadcast packet
// once for all its clients). A line that is not JSON is reported on stderr and skipped. When stdin ends, the
// server closes every connection and exits 0.

import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";

const SUBSCRIBERS = "subscribers";

const [token] = process.argv.slice(2);
if (!token) {
  process.stderr.write("broadcast-server: usage: node broadcast-server.mjs TOKEN\n");
  process.exit(2);
}

const http = createServer();
// No compression: the relay compresses nothing either (and socket.io's default is off too).
const io = new Server(http, { perMessageDeflate: false });
io.use((socket, next) => {
  next(socket.handshake.auth?.token === token ? undefined : new Error("unauthorized"));
});
io.on("connection", (socket) => {
  socket.on("subscribe", (filter, ack) => {
    socket.join(SUBSCRIBERS);
    if (typeof ack === "function") ack({ ok: true, filter });
  });
});

http.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ listening: { port: http.address().port } })}\n`);
});

let lineNumber = 0;
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  lineNumber += 1;
  let payload;
  try {
    payload = JSON.parse(line);
  } catch (error) {
    process.stderr.write(`broadcast-server: stdin line ${lineNumber} is not JSON (${error.message}); skipped\n`);
    return;
  }
  io.to(SUBSCRIBERS).emit("event", payload);
});
lines.on("close", () => {
  io.close(() => process.exit(0));
});
