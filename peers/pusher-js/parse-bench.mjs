// The reference side of the parse benchmark: how fast pusher-js, the official Pusher client, takes in the
// events of one channel.
//
//   node parse-bench.mjs --url ws://127.0.0.1:PORT --key KEY --channel CH --frames N [--timeout SECS]
//
// Connects with pusher-js over plain ws to the host and port of --url (nothing else of the URL is used;
// pusher-js builds its own `/app/KEY?protocol=7&client=js&version=...` path), subscribes to CH and counts
// every event delivered on that channel, leaving out pusher's own `pusher:*` events. Per event it does what
// pusher-js does (parse the frame's JSON, then the JSON in its `data`, dispatch to the channel) plus one
// increment: nothing else runs per frame. The clock starts at the first delivered event and stops at the
// Nth, so `seconds` covers N - 1 intervals and `frames_per_s` = (N - 1) / seconds.
//
// stdout: exactly one line, `{"frames":N,"seconds":S,"frames_per_s":R}`, then exit 0.
// stderr: `parse-bench: subscribed to CH` once the subscription succeeded (a driver waits for this line
// before it sends frames), and errors. Exit 1 when no event arrives for SECS seconds (default 60; this covers
// a server that never answers) or on a connection or subscription failure; exit 2 for bad arguments.

import Pusher from 'pusher-js';

const USAGE =
  'usage: node parse-bench.mjs --url ws://127.0.0.1:PORT --key KEY --channel CH --frames N [--timeout SECS]';

/** Prints `message` (and the usage when asked) to stderr and exits with `code`. */
function fail(code, message, usage = false) {
  process.stderr.write(`parse-bench: ${message}\n${usage ? `${USAGE}\n` : ''}`);
  process.exit(code);
}

/** The `--name value` pairs of `argv`, checked and converted. */
function parseArgs(argv) {
  const known = new Set(['--url', '--key', '--channel', '--frames', '--timeout']);
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--help' || name === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (!known.has(name)) fail(2, `unknown argument \`${name}\``, true);
    if (value === undefined) fail(2, `${name} needs a value`, true);
    args[name.slice(2)] = value;
  }
  for (const name of ['url', 'key', 'channel', 'frames']) {
    if (args[name] === undefined) fail(2, `--${name} is required`, true);
  }
  let url;
  try {
    url = new URL(args.url);
  } catch {
    fail(2, `--url \`${args.url}\` is not a URL`, true);
  }
  if (url.protocol !== 'ws:' || url.port === '') {
    fail(2, `--url must be ws://HOST:PORT (plain ws, explicit port), got \`${args.url}\``, true);
  }
  const frames = Number(args.frames);
  if (!Number.isInteger(frames) || frames < 2) fail(2, '--frames must be an integer >= 2', true);
  const timeout = Number(args.timeout ?? 60);
  if (!(timeout > 0)) fail(2, '--timeout must be a positive number of seconds', true);
  return { host: url.hostname, port: Number(url.port), key: args.key, channel: args.channel, frames, timeout };
}

const { host, port, key, channel: channelName, frames, timeout } = parseArgs(process.argv.slice(2));

const pusher = new Pusher(key, {
  cluster: 'mt1',
  wsHost: host,
  wsPort: port,
  forceTLS: false,
  // Only plain ws: otherwise pusher-js also tries wss://HOST:443 after 2 s and xhr to sockjs.pusher.com.
  enabledTransports: ['ws'],
  // pusher-js 8 deprecates `disableStats: true` (it logs a warning) for this, which means the same.
  enableStats: false,
});

pusher.connection.bind('error', (error) => {
  const detail = error?.error?.data ?? error?.error ?? error;
  fail(1, `connection error: ${JSON.stringify(detail)}`);
});
pusher.connection.bind('failed', () => fail(1, 'pusher-js reports the connection failed (ws not supported?)'));

const channel = pusher.subscribe(channelName);
channel.bind('pusher:subscription_succeeded', () => {
  process.stderr.write(`parse-bench: subscribed to ${channelName}\n`);
});
channel.bind('pusher:subscription_error', (status) => {
  fail(1, `subscription to ${channelName} failed: ${JSON.stringify(status)}`);
});

let count = 0;
let started = 0n;

channel.bind_global((eventName) => {
  // pusher-js emits its own `pusher:subscription_succeeded`, `pusher:subscription_count`, ... here too.
  if (eventName.startsWith('pusher:')) return;
  count += 1;
  if (count === 1) {
    started = process.hrtime.bigint();
  } else if (count === frames) {
    finish(process.hrtime.bigint());
  }
});

/** Prints the one result line and exits 0 once it is written. */
function finish(stopped) {
  const seconds = Number(stopped - started) / 1e9;
  const line = JSON.stringify({ frames, seconds, frames_per_s: (frames - 1) / seconds });
  clearInterval(watchdog);
  pusher.disconnect();
  process.stdout.write(`${line}\n`, () => process.exit(0));
}

// A check once a second instead of a timer reset per event, so the per-frame path stays untouched.
let lastCount = 0;
let quietSince = Date.now();
const watchdog = setInterval(() => {
  if (count !== lastCount) {
    lastCount = count;
    quietSince = Date.now();
  } else if (Date.now() - quietSince >= timeout * 1000) {
    const state = pusher.connection.state;
    fail(
      1,
      `timed out: no event on ${channelName} for ${timeout} s; got ${count} of ${frames} ` +
        `(connection state: ${state})`,
    );
  }
}, 1000);
