// A relay client for onair-relay's tests, on the real socket.io-client: connects with the token ("-" for
// none), subscribes with the filter (JSON; "-" for none) and prints one JSON line on stdout per thing
// that happens: {connected}, {connect_error}, {subscribed}, {resumed}, {event}, {replay_done}, {shutdown},
// {error}, {disconnect}. With AFTER, it resumes from that offset once subscribed.
// Usage: node relay-client.mjs URL TOKEN FILTER [AFTER]
import { io } from "socket.io-client";

const [url, token, filter, after] = process.argv.slice(2);
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const socket = io(url, {
  auth: token === "-" ? {} : { token },
  reconnection: false,
  transports: ["websocket"],
});
socket.on("connect", async () => {
  say({ connected: socket.id });
  if (filter !== "-") say({ subscribed: await socket.emitWithAck("subscribe", JSON.parse(filter)) });
  if (after !== undefined) say({ resumed: await socket.emitWithAck("resume", { after: Number(after) }) });
});
socket.on("connect_error", (error) => {
  say({ connect_error: error.message });
  process.exit(0);
});
socket.on("event", (event) => say({ event }));
socket.on("replay:done", (done) => say({ replay_done: done }));
socket.on("server:shutdown", (notice, ack) => {
  say({ shutdown: notice });
  ack?.();
});
socket.on("error", (error) => say({ error }));
socket.on("disconnect", (reason) => {
  say({ disconnect: reason });
  process.exit(0);
});
