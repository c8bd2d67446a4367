// The clients of onair-relay's benchmark (`cargo xtask bench relay`): CLIENTS real socket.io-clients
// (websocket transport, no reconnection) in this one node process, connected with TOKEN to URL (the relay,
// or the reference socket.io server of ../socket.io-server) and each subscribed to everything; they count
// and time every event they receive, and this process reports on stdout, one JSON line each.
//
//   node bench-clients.mjs URL TOKEN CLIENTS
//
// Start-up: the clients connect in batches of CONNECT_BATCH, each batch connected and subscribed before the
// next one opens (so no server's accept backlog overflows), then `{"connected":{"clients":N,"seconds":S}}`.
//
// Commands on stdin, one JSON line each:
//   {"expect":{"phase":NAME,"first":A,"last":B}}  the events that follow have the offsets A..=B; answered at
//       once with `{"expecting":{"phase":NAME}}`. When every client has received offset B (or after
//       STALL_MS with nothing received), `{"phase":{...}}` reports, for the events of A..=B:
//       `name, clients, events, expected` (clients * events), `received` (distinct deliveries),
//       `duplicates`, `out_of_order`, `stray` (events outside A..=B), `unreadable` (no offset or
//       `received_at`), `timed_out`, `p50_ms`, `p99_ms`, `max_ms` (latencies over every delivery),
//       `first_ingest_ms` (the earliest `received_at` of the phase, ms since the epoch), `last_receive_ms`
//       (when the last delivery arrived, same clock), `span_ms` (the one minus the other), and `all`:
//       `{phases, received, p50_ms, p99_ms, max_ms}` over every phase so far of the same NAME (so phases
//       run in rounds add up to one set of percentiles).
//   {"close":{}}  disconnects every client and exits 0.
//
// Latency of a delivery: its receive time (performance.timeOrigin + performance.now(): the wall clock, with
// sub-millisecond resolution) minus the event's `received_at` (RFC 3339 UTC, which the bench stamps from
// the same machine's clock just before it hands the event to the server), in milliseconds.
//
// Failures: `{"error":{"message":...}}` on stdout, then exit 1: a client refused or not connected in time, a
// refused subscribe, a client disconnected during the run, a command the driver cannot read. Exit 2 for bad
// arguments.

import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const USAGE = "usage: node bench-clients.mjs URL TOKEN CLIENTS";
/** Clients connecting at once. */
const CONNECT_BATCH = 50;
/** How long a client may take to connect and subscribe. */
const CONNECT_TIMEOUT_MS = 30_000;
/** A phase ends this long after its last delivery (or its start) even when deliveries are missing. */
const STALL_MS = 30_000;

const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** Reports a failure and exits 1. */
function fail(message) {
  say({ error: { message } });
  process.exit(1);
}

const [url, token, clientsArg] = process.argv.slice(2);
const clientCount = Number(clientsArg);
if (!url || !token || !Number.isInteger(clientCount) || clientCount < 1) {
  process.stderr.write(`bench-clients: ${USAGE}\n`);
  process.exit(2);
}

/** Now on the wall clock, in milliseconds since the epoch, with sub-millisecond resolution. */
const now = () => performance.timeOrigin + performance.now();

/**
 * Milliseconds since the epoch of an RFC 3339 time such as `2026-05-22T18:42:07.123456789Z`, keeping the
 * fraction's digits past the millisecond (Date.parse drops them); NaN when it is not such a time.
 */
function wallMs(rfc3339) {
  if (typeof rfc3339 !== "string") return Number.NaN;
  const parts = /^(.+T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!parts) return Number.NaN;
  return Date.parse(parts[1] + parts[3]) + (parts[2] ? Number(`0${parts[2]}`) * 1000 : 0);
}

/** The value at rank `p` (0..1, nearest rank) of the sorted `values`. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const sockets = [];
/** Per client, the highest offset it received (for duplicates and order). */
const lastOffset = new Float64Array(clientCount).fill(-Infinity);
let closing = false;
/** The phase under way, or null. */
let phase = null;
/** Per phase name, the sorted latencies of each of its finished phases. */
const history = new Map();

function startPhase(name, first, last) {
  const events = last - first + 1;
  if (!Number.isInteger(first) || !Number.isInteger(last) || events < 1) {
    fail(`expect needs integer offsets first <= last, got ${JSON.stringify({ first, last })}`);
  }
  phase = {
    name,
    first,
    last,
    events,
    latencies: new Float64Array(clientCount * events),
    received: 0,
    // Per event, its `received_at` in ms, parsed once (NaN until then).
    ingest: new Float64Array(events).fill(Number.NaN),
    clientsDone: 0,
    duplicates: 0,
    outOfOrder: 0,
    stray: 0,
    unreadable: 0,
    lastReceive: Number.NaN,
    lastProgress: now(),
  };
  say({ expecting: { phase: name } });
}

function finishPhase(timedOut) {
  const p = phase;
  phase = null;
  const latencies = p.latencies.slice(0, p.received).sort();
  const past = history.get(p.name) ?? [];
  past.push(latencies);
  history.set(p.name, past);
  const all = new Float64Array(past.reduce((sum, l) => sum + l.length, 0));
  let at = 0;
  for (const l of past) {
    all.set(l, at);
    at += l.length;
  }
  all.sort();
  let firstIngest = Number.POSITIVE_INFINITY;
  for (const t of p.ingest) if (t < firstIngest) firstIngest = t;
  const round = (ms) => (ms === null || !Number.isFinite(ms) ? null : Math.round(ms * 1000) / 1000);
  say({
    phase: {
      name: p.name,
      clients: clientCount,
      events: p.events,
      expected: clientCount * p.events,
      received: p.received,
      duplicates: p.duplicates,
      out_of_order: p.outOfOrder,
      stray: p.stray,
      unreadable: p.unreadable,
      timed_out: timedOut,
      p50_ms: round(percentile(latencies, 0.5)),
      p99_ms: round(percentile(latencies, 0.99)),
      max_ms: round(percentile(latencies, 1)),
      first_ingest_ms: round(firstIngest),
      last_receive_ms: round(p.lastReceive),
      span_ms: round(p.lastReceive - firstIngest),
      all: {
        phases: past.length,
        received: all.length,
        p50_ms: round(percentile(all, 0.5)),
        p99_ms: round(percentile(all, 0.99)),
        max_ms: round(percentile(all, 1)),
      },
    },
  });
}

/** What client `index` does with each event it receives. */
function onEvent(index, event) {
  const receivedAt = now();
  const p = phase;
  const offset = event?.offset;
  if (p === null) return;
  if (!Number.isInteger(offset)) {
    p.unreadable += 1;
    return;
  }
  if (offset < p.first || offset > p.last) {
    p.stray += 1;
    return;
  }
  const seen = lastOffset[index];
  if (offset <= seen) {
    if (offset === seen) p.duplicates += 1;
    else p.outOfOrder += 1;
    return;
  }
  if (seen >= p.first && offset !== seen + 1) p.outOfOrder += 1;
  lastOffset[index] = offset;
  const slot = offset - p.first;
  let ingest = p.ingest[slot];
  if (Number.isNaN(ingest)) {
    ingest = wallMs(event.received_at);
    if (Number.isNaN(ingest)) {
      p.unreadable += 1;
      return;
    }
    p.ingest[slot] = ingest;
  }
  p.latencies[p.received] = receivedAt - ingest;
  p.received += 1;
  p.lastProgress = receivedAt;
  if (!(receivedAt <= p.lastReceive)) p.lastReceive = receivedAt;
  if (offset === p.last) {
    p.clientsDone += 1;
    if (p.clientsDone === clientCount) finishPhase(false);
  }
}

/** Opens client `index`; resolves once it is connected and subscribed to everything. */
function openClient(index) {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => fail(`client ${index} did not connect and subscribe within ${CONNECT_TIMEOUT_MS} ms (${url})`),
      CONNECT_TIMEOUT_MS,
    );
    const socket = io(url, {
      auth: { token },
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    sockets[index] = socket;
    socket.on("event", (event) => onEvent(index, event));
    socket.on("connect_error", (error) => fail(`client ${index} could not connect to ${url}: ${error.message}`));
    socket.on("disconnect", (reason) => {
      if (!closing) fail(`client ${index} was disconnected during the run: ${reason}`);
    });
    socket.on("connect", async () => {
      let answer;
      try {
        answer = await socket.timeout(CONNECT_TIMEOUT_MS).emitWithAck("subscribe", {});
      } catch (error) {
        fail(`client ${index} got no answer to subscribe: ${error.message}`);
      }
      if (answer?.ok !== true) fail(`client ${index} was refused its subscribe: ${JSON.stringify(answer)}`);
      clearTimeout(timer);
      resolve();
    });
  });
}

function onCommand(line) {
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    fail(`stdin line is not JSON (${error.message}): ${line}`);
  }
  if (command?.expect) {
    if (phase !== null) fail(`expect ${command.expect.phase} while phase ${phase.name} is under way`);
    startPhase(String(command.expect.phase), command.expect.first, command.expect.last);
  } else if (command?.close) {
    closing = true;
    for (const socket of sockets) socket.disconnect();
    process.exit(0);
  } else {
    fail(`unknown command on stdin: ${line}`);
  }
}

const started = now();
for (let first = 0; first < clientCount; first += CONNECT_BATCH) {
  const batch = [];
  for (let index = first; index < Math.min(clientCount, first + CONNECT_BATCH); index += 1) {
    batch.push(openClient(index));
  }
  await Promise.all(batch);
}
say({ connected: { clients: clientCount, seconds: Math.round(now() - started) / 1000 } });

setInterval(() => {
  if (phase !== null && now() - phase.lastProgress > STALL_MS) finishPhase(true);
}, 1000).unref();
const commands = createInterface({ input: process.stdin, crlfDelay: Infinity });
commands.on("line", onCommand);
commands.on("close", () => {
  if (!closing) fail("stdin closed without a close command");
});
