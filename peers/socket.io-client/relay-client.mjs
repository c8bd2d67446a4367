// A relay client for onair-relay's tests, on the real socket.io-client: connects with the token ("-" for
// none), subscribes with the filter (JSON; "-" for none) and prints one JSON line on stdout per thing
// that happens: {connected}, {connect_error}, {subscribed}, {resumed}, {event}, {replay_done},
// {position_reset}, {shutdown}, {error}, {rate_limit}, {flood}, {disconnect}. With AFTER, it subscribes
// with `after` (replay, then live, in one step), or with ONAIR_TEST_SEPARATE_RESUME=1 subscribes and then
// sends `resume { after }`; with ONAIR_TEST_FLOOD=N in the environment, it then sends N subscribe requests
// at once and prints what each got (ok, an error code, or "no answer"). With ONAIR_TEST_STATUS=1 it also
// prints each {status}; with ONAIR_TEST_USER_AGENT it connects with that User-Agent.
// Usage: node relay-client.mjs URL TOKEN FILTER [AFTER]
import { io } from "socket.io-client";

const [url, token, filter, after] = process.argv.slice(2);
const flood = Number(process.env.ONAIR_TEST_FLOOD ?? 0);
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const socket = io(url, {
  auth: token === "-" ? {} : { token },
  reconnection: false,
  transports: ["websocket"],
  extraHeaders: process.env.ONAIR_TEST_USER_AGENT ? { "user-agent": process.env.ONAIR_TEST_USER_AGENT } : {},
});
if (process.env.ONAIR_TEST_STATUS) socket.on("status", (status) => say({ status }));
socket.on("connect", async () => {
  say({ connected: socket.id });
  const separate = process.env.ONAIR_TEST_SEPARATE_RESUME === "1";
  const atomic = after !== undefined && !separate ? { after: Number(after) } : {};
  if (filter !== "-") say({ subscribed: await socket.emitWithAck("subscribe", { ...JSON.parse(filter), ...atomic }) });
  if (after !== undefined && separate) say({ resumed: await socket.emitWithAck("resume", { after: Number(after) }) });
  if (flood > 0) {
    const asks = Array.from({ length: flood }, () => socket.timeout(3000).emitWithAck("subscribe", {}));
    const answers = await Promise.allSettled(asks);
    say({ flood: answers.map((a) => (a.status === "fulfilled" ? (a.value.ok ? "ok" : a.value.error.code) : "no answer")) });
    process.exit(0);
  }
});
socket.on("connect_error", (error) => {
  say({ connect_error: error.message });
  process.exit(0);
});
socket.on("event", (event) => say({ event }));
socket.on("replay:done", (done) => say({ replay_done: done }));
socket.on("position:reset", (reset) => say({ position_reset: reset }));
socket.on("server:shutdown", (notice, ack) => {
  say({ shutdown: notice });
  ack?.();
});
socket.on("error", (error) => say({ error }));
socket.on("rate:limit", (notice) => say({ rate_limit: notice }));
socket.on("disconnect", (reason) => {
  say({ disconnect: reason });
  // A flood's unanswered requests still report (they time out).
  if (flood === 0) process.exit(0);
});
