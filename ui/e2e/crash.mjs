// End-to-end test of `kill -9` of the app during heavy ingest (run through e2e/run.sh, in sessions of its
// own after the dashboard's, with its own database and folders): the app watches a Kick channel on a
// stand-in Pusher server (e2e/fake-pusher.mjs) that blasts thousands of distinct chat messages at it; while
// they are being recorded, the window's feed and an overlay on the relay are watched, and the app is killed
// with SIGKILL. Then the database file is whole (`PRAGMA integrity_check`), holds every event the app had
// reported recorded exactly once, and nothing after a gap; started again on the same file, the app opens on
// its dashboard (no recovery screen, no store-health alert), watches the channel again by itself, records
// new messages, and a message it had already stored, sent again, stays stored once.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { io } from "socket.io-client";
import { KICK_CHANNEL_ID, KICK_CHATROOM_ID, chatFrame, startFakePusher } from "./fake-pusher.mjs";
import {
  anotherOnAir, application, browser, endSession, onairCli, ownState, poll, session, shot, until, waitFor,
} from "./session.mjs";
import { clickTray, findTray } from "./tray.mjs";

// Polls twice as often as the others: each check during the heavy ingest also samples the feed's rows.
Object.assign(poll, { until: 50, waitFor: 100 });

/** The chat messages the stand-in Pusher blasts, and how many the relay must have passed on before the kill. */
const SENT = 30000;
const KILL_AFTER = 3000;
const PUSHER_PORT = Number(process.env.ONAIR_E2E_FAKE_PUSHER_PORT ?? 41486);
const RELAY_TOKEN = "e2e-crash-relay-token";
const SLUG = "crash-test";
const CARD = `.connection-card[data-id="kick/${SLUG}"]`;

const pusher = await startFakePusher(PUSHER_PORT);

// Its own database and folders, and the stand-in Pusher. The relay's token is fixed so that the overlay
// below can connect.
const { state, db, launcher } = ownState("crash", { ONAIR_KICK_PUSHER_URL: pusher.url, ONAIR_RELAY_TOKEN: RELAY_TOKEN });

/**
 * The live processes that carry this test's database in their environment: the app (the launcher execs
 * it) and its web view's processes, which inherit it; nothing else on the machine has this database.
 */
function ourProcesses() {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const zombie = /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
      const ours = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`ONAIR_DB=${db}`);
      return ours && !zombie ? [{ pid: Number(pid), exe: readlinkSync(`/proc/${pid}/exe`) }] : [];
    } catch {
      return []; // Gone meanwhile, or not ours to read.
    }
  });
}
/** The pids of the apps running on this test's database (its web view's processes run other binaries). */
const appPids = () => ourProcesses().filter((p) => p.exe === realpathSync(application)).map((p) => p.pid);

let step = "start";
/** The numbers N of the "crash blast N" chat lines in the feed's rows now in the page. */
const feedNumbers = async () =>
  (await browser.execute(() =>
    [...document.querySelectorAll('#feed .event[data-kind="chat_message"] .text')].map((t) => t.textContent ?? ""),
  )).map((text) => /^crash blast (\d+)$/.exec(text)?.[1]).filter((n) => n !== undefined).map(Number);
/** The channel's stored chat messages' source ids, oldest first (`onair events`, as another program reads the file). */
const stored = () =>
  execFileSync(onairCli, ["--db", db, "events", "--after", "0", "--limit", "0", "--format", "jsonl", "--channel", SLUG], { encoding: "utf8", maxBuffer: 1 << 28 })
    .split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l))
    .filter((e) => e.kind === "chat_message").map((e) => e.source_id);
/** `PRAGMA integrity_check` on the file, through python3's sqlite3 (as the dashboard's lock holder uses). */
const integrity = () =>
  execFileSync("python3", ["-c", "import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])", db],
    { encoding: "utf8" }).trim();

let overlay = null;
try {
  const started = Date.now();
  step = "watch a channel";
  await session(launcher);
  await waitFor("the dashboard", async () => (await browser.$("#connections").isExisting()), 30000);
  await browser.$("#add-channel-name").setValue(`kick:${SLUG}`);
  await browser.$("#add-channel input[type=checkbox]").click();
  await browser.$("#add-channel-id").setValue(String(KICK_CHANNEL_ID));
  await browser.$("#add-chatroom-id").setValue(String(KICK_CHATROOM_ID));
  await browser.$('#add-channel button[type="submit"]').click();
  await waitFor("the channel connected", async () => (await browser.$(CARD).getAttribute("data-state")) === "connected", 30000);
  await until("the chatroom subscribed", () => pusher.seen.subscribed.includes(`chatrooms.${KICK_CHATROOM_ID}.v2`));

  step = "an overlay on the relay";
  await browser.$("#view-settings").click();
  await waitFor("the relay listening", async () => (await browser.$("#relay-address").isExisting()));
  const relayUrl = `http://${await browser.$("#relay-address").getText()}`;
  await browser.$("#view-feed").click();
  // What "recorded" means to a user: the window's feed shows what the app read back from the database, and
  // the relay passes on only committed events, so an overlay showed them on stream. Both count as reported
  // recorded. The feed is windowed (only the rows in view are in the page) and refreshes 20 times a second,
  // so sampling it sees a part; the overlay sees every one, in order. Neither may be lost to a kill.
  overlay = io(relayUrl, { auth: { token: RELAY_TOKEN }, transports: ["websocket"], reconnection: false });
  const relayed = [];
  overlay.on("event", (event) => relayed.push(event.source_id));
  const overlayGone = new Promise((resolve) => overlay.on("disconnect", resolve));
  await new Promise((resolve, reject) => {
    overlay.on("connect", resolve);
    overlay.on("connect_error", reject);
  });
  assert.equal((await overlay.emitWithAck("subscribe", { kinds: ["chat_message"] })).ok, true);

  step = "heavy ingest";
  const frames = Array.from({ length: SENT }, (_, n) => chatFrame(n));
  const blastStarted = Date.now();
  const blast = pusher.blast(frames);
  const shown = new Set();
  await waitFor(`${KILL_AFTER} relayed, and the feed showing as many`, async () => {
    for (const n of await feedNumbers()) shown.add(n);
    return relayed.length >= KILL_AFTER && Math.max(...shown) >= KILL_AFTER;
  }, 60000);
  // The feed's last look before the kill.
  for (const n of await feedNumbers()) shown.add(n);
  const relayedBeforeKill = relayed.length;

  step = "kill -9";
  const pids = appPids();
  assert.equal(pids.length, 1, `one app on this database: ${JSON.stringify(pids)}`);
  process.kill(pids[0], "SIGKILL");
  const killedAt = Date.now();
  // The overlay still reads what reached it before the kill, then the relay is gone.
  await Promise.race([overlayGone, new Promise((_, reject) => setTimeout(() => reject(new Error("the overlay still connected 10 s after the kill")), 10000).unref())]);
  overlay.close();
  await until("the app and its web view's processes gone, its single-instance name free", () => ourProcesses().length === 0 && !anotherOnAir());
  const written = await blast;
  await endSession();

  step = "the file after the kill";
  assert.equal(integrity(), "ok", "PRAGMA integrity_check");
  const ids = stored();
  const unique = new Set(ids);
  assert.equal(unique.size, ids.length, "no message stored twice");
  const lost = relayed.filter((id) => !unique.has(id));
  assert.deepEqual(lost, [], "every message relayed before the kill is stored");
  const notStored = [...shown].filter((n) => !unique.has(`chat:crash-${n}`));
  assert.deepEqual(notStored, [], "every message the feed showed is stored");
  // The stand-in sends in order and the app never drops (back-pressure): what is stored is the blast's start.
  assert.deepEqual(ids, Array.from({ length: ids.length }, (_, n) => `chat:crash-${n}`), "the stored messages are the first ones sent, none skipped");
  assert.ok(ids.length < SENT, `killed during the ingest: ${ids.length} of ${SENT} stored`);
  console.log(`e2e: crash: ${SENT} chat messages blasted (${written} of them handed to the app's socket before the kill), ` +
    `the relay passed on ${relayedBeforeKill} before the kill (${relayed.length} in all), the feed showed ${shown.size} ` +
    `(up to "crash blast ${Math.max(...shown)}"); kill -9 ${killedAt - blastStarted} ms into the blast: ${ids.length} stored, ` +
    `${SENT - ids.length} in flight or unsent`);

  step = "started again on the same file";
  await session(launcher);
  await waitFor("the dashboard", async () => (await browser.$("#connections").isExisting()), 30000);
  assert.ok(!(await browser.$("#recovery-problem").isExisting()), "no recovery screen");
  await waitFor("the channel watched again, connected", async () =>
    (await browser.$(CARD).isExisting()) && (await browser.$(CARD).getAttribute("data-state")) === "connected", 30000);
  await until("the chatroom subscribed again", () => pusher.seen.connections === 2 && pusher.seen.subscribed.includes(`chatrooms.${KICK_CHATROOM_ID}.v2`));
  const last = ids.length - 1;
  await waitFor(`the feed showing the last message stored, "crash blast ${last}"`, async () => (await feedNumbers()).includes(last));
  assert.ok(!(await browser.$("#store-health").isExisting()), "no store-health banner: recording");
  await shot("crash-restarted");

  step = "records again";
  // One it had stored, then a new one: once the new one is in the feed, the old one was dealt with too.
  pusher.send(chatFrame(0));
  pusher.send(chatFrame(SENT));
  await waitFor(`the new message in the feed, "crash blast ${SENT}"`, async () => (await feedNumbers()).includes(SENT));
  const after = stored();
  assert.equal(after.length, ids.length + 1, "the new message stored, the one sent again not stored twice");
  assert.equal(after.filter((id) => id === "chat:crash-0").length, 1, "crash-0 stored once");
  assert.equal(after.at(-1), `chat:crash-${SENT}`);
  assert.ok(!(await browser.$("#store-health").isExisting()), "no store-health banner");

  step = "quit";
  clickTray("Quit OnAir");
  await until("the app gone", () => findTray() === null && ourProcesses().length === 0);
  assert.equal(integrity(), "ok", "PRAGMA integrity_check after quitting");
  console.log(`e2e: crash passed in ${Date.now() - started} ms`);
} catch (e) {
  console.error(`e2e: crash failed at "${step}":`, e);
  console.error("e2e: the stand-in Pusher saw", JSON.stringify(pusher.seen));
  if (browser) await shot(`failure-crash-${step.replaceAll(" ", "-")}`).catch(() => {});
  process.exitCode = 1;
} finally {
  overlay?.close();
  await endSession();
  // Never leave an app of this test running (one that a failure left behind).
  for (const pid of appPids()) process.kill(pid, "SIGKILL");
  pusher.close();
  if (existsSync(state)) rmSync(state, { recursive: true, force: true });
}
