// Seeds each fuzz target's working corpus (fuzz/corpus/TARGET/, not committed beyond its minimized files)
// from the repository's own samples: the protocol fixtures, the JSONL example, the README's settings, a few
// relay requests, and Discord fixtures compressed as the Gateway's zlib-stream (one deflate stream, a sync
// flush after each message). Plain node, no packages: `node fuzz/seed.mjs` from anywhere.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, createDeflate } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = (platform) =>
  readdirSync(join(root, "fixtures", platform))
    .filter((name) => name.endsWith(".json") && name !== "expected.json")
    .sort()
    .map((name) => [name, readFileSync(join(root, "fixtures", platform, name))]);

let written = 0;
const seed = (target, name, bytes) => {
  const dir = join(root, "fuzz", "corpus", target);
  mkdirSync(dir, { recursive: true });
  // Named by content, as libFuzzer names what it finds: seeding twice changes nothing.
  const hash = createHash("sha1").update(bytes).digest("hex");
  writeFileSync(join(dir, `seed-${name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${hash.slice(0, 8)}`), bytes);
  written += 1;
};

// Frames as they arrive: one line of JSON (the fixtures are pretty-printed for people).
const compact = (bytes) => Buffer.from(JSON.stringify(JSON.parse(bytes.toString("utf8"))));

const kick = fixtures("kick").filter(([name]) => !name.startsWith("rest_"));
for (const [name, bytes] of kick) {
  seed("pusher_frame", name, compact(bytes));
  seed("kick_event", name, compact(bytes));
}
for (const [name, bytes] of fixtures("twitch")) seed("eventsub_frame", name, compact(bytes));
const discord = fixtures("discord").filter(([name]) => !name.startsWith("11_"));
for (const [name, bytes] of discord) seed("gateway_payload", name, compact(bytes));

// One zlib stream for the connection, each message ended by a sync flush (00 00 ff ff).
const deflate = createDeflate();
const chunks = [];
deflate.on("data", (chunk) => chunks.push(chunk));
const flush = () => new Promise((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, resolve));
const messages = [];
for (const [name, bytes] of discord) {
  deflate.write(compact(bytes));
  await flush();
  const message = Buffer.concat(chunks.splice(0));
  messages.push(message);
  // The first byte says where frames are cut besides each message's end (0: nowhere else).
  seed("zlib_stream", `upto-${name}`, Buffer.concat([Buffer.from([0]), ...messages]));
}
seed("zlib_stream", "all-whole", Buffer.concat([Buffer.from([0]), ...messages]));
seed("zlib_stream", "all-cut-7", Buffer.concat([Buffer.from([7]), ...messages]));
seed("zlib_stream", "all-cut-64", Buffer.concat([Buffer.from([64]), ...messages]));

for (const [name, request] of [
  ["empty", {}],
  ["live", { platforms: ["kick", "twitch"], kinds: ["follow", "raid"], channels: ["nebulacast"] }],
  ["resume", { kinds: ["chat_message"], after: 41 }],
  ["resume-only", { after: 0 }],
  ["negative", { after: -1 }],
  ["unknown-kind", { kinds: ["follows"] }],
]) {
  seed("relay_request", name, Buffer.from(JSON.stringify(request)));
}

const jsonl = readFileSync(join(root, "docs", "examples", "events.jsonl"), "utf8");
jsonl
  .split("\n")
  .filter((line) => line.trim() !== "")
  .forEach((line, i) => seed("jsonl_event", `events-${i + 1}`, Buffer.from(line)));

// The README's settings examples, and a few more.
const readme = readFileSync(join(root, "README.md"), "utf8");
const toml = [...readme.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]);
toml.forEach((text, i) => seed("settings_file", `readme-${i + 1}`, Buffer.from(text)));
for (const [name, text] of [
  ["empty", ""],
  ["watch", 'watch = ["kick:novastreams", "twitch:nebulacast", "discord:1085131932938797063/1085131964526100482"]\n'],
  ["twitch", "[twitch]\nkeepalive_seconds = 30\npoll_while_down_seconds = 60\npoll_while_up_minutes = 180\n"],
  ["discord", '[discord]\nshards = "auto"\napi_url = "http://127.0.0.1:8090/api/v10"\n'],
  ["kick", '[kick]\npusher_url = "ws://127.0.0.1:6001/app/k"\nredirect_port = 41477\n'],
]) {
  seed("settings_file", name, Buffer.from(text));
}

console.log(`seeded ${written} inputs under fuzz/corpus/`);
