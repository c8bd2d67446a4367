// End-to-end test of the recovery screen, in sessions of their own after the dashboard's (run through
// e2e/run.sh): OnAir launched on a file that is not a database shows what is wrong (the file named) instead
// of exiting; Quit quits; launched again, "Move it aside and start a new database" keeps the file byte for
// byte beside it, says where, and the dashboard works on the new database without a restart.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";
import { clickTray, findTray } from "./tray.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });
const application = process.env.ONAIR_APP ?? join(here, "../../target/debug/onair-desktop");

// Its own database and folders, given through a launcher (WebDriver passes the app no environment).
const state = mkdtempSync(join(tmpdir(), "onair-e2e-recovery-"));
const db = join(state, "onair.db");
const notADatabase = Buffer.from("Stream schedule\nMon 18:00 ranked\nWed 20:00 community night\n".repeat(150));
writeFileSync(db, notADatabase);
const launcher = join(state, "onair-desktop.sh");
writeFileSync(launcher, [
  "#!/bin/sh",
  `export ONAIR_DB='${db}' XDG_DATA_HOME='${state}/data' XDG_CONFIG_HOME='${state}/config' XDG_CACHE_HOME='${state}/cache'`,
  `exec '${application}' "$@"`,
  "",
].join("\n"));
chmodSync(launcher, 0o755);

/** Whether an OnAir still owns its single-instance name on the session bus (a launch would then go to it). */
function anotherOnAir() {
  const names = execFileSync("gdbus", ["call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
    "--method", "org.freedesktop.DBus.ListNames"], { encoding: "utf8" });
  return names.includes("app.onair.desktop.SingleInstance");
}

/** Waits until `check()` holds, without the WebDriver session (the app may be gone). */
async function until(what, check, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let step = "start";
let browser = null;
async function session() {
  await until("the previous OnAir gone", () => !anotherOnAir());
  browser = await remote({
    hostname: "127.0.0.1",
    port: Number(process.env.TAURI_DRIVER_PORT ?? 4444),
    logLevel: "error",
    capabilities: { "wdio:enforceWebDriverClassic": true, "tauri:options": { application: launcher } },
  });
  return browser;
}
const waitFor = (what, check, timeout = 20000) =>
  browser.waitUntil(check, { timeout, interval: 200, timeoutMsg: `timed out: ${what}` });
/**
 * Saves a screenshot. WebKitWebDriver takes it at the page's next repaint, so on a page where nothing moves
 * it would wait for ever: after 10 s the screenshot is given up (it is evidence, not a check).
 */
async function shot(name) {
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10000).unref());
  const png = await Promise.race([browser.takeScreenshot(), timeout]);
  if (png) writeFileSync(join(artifacts, `${name}.png`), Buffer.from(png, "base64"));
  else console.log(`e2e: no screenshot ${name} (the page did not repaint)`);
}

try {
  step = "the recovery screen";
  await session();
  await waitFor("the recovery screen", async () => (await browser.$("#recovery-problem").isExisting()));
  const problem = await browser.$("#recovery-problem").getText();
  assert.ok(problem.includes(db), `the problem names the file: ${problem}`);
  assert.match(problem, /is not an OnAir database/);
  assert.ok(await browser.$("#move-aside").isExisting(), "moving it aside is offered");
  assert.ok(!(await browser.$("#connections").isExisting()), "no dashboard without a database");

  step = "quit from the recovery screen";
  // The app may be gone before the click is answered.
  await browser.$("#quit").click().catch(() => {});
  await until("the app gone", () => !anotherOnAir() && findTray() === null);
  await browser.deleteSession().catch(() => {});
  assert.deepEqual(readFileSync(db), notADatabase, "quitting leaves the file as it was");

  step = "move it aside";
  await session();
  await waitFor("the recovery screen again", async () => (await browser.$("#move-aside").isExisting()));
  await browser.$("#move-aside").click();
  await waitFor("the dashboard", async () => (await browser.$("#connections").isExisting()), 30000);
  const moved = await browser.$("#moved-aside code").getText();
  assert.ok(moved.startsWith(`${db}.unusable-`), `where the file went: ${moved}`);
  assert.deepEqual(readFileSync(moved), notADatabase, "the old file is kept byte for byte");
  assert.equal(readFileSync(db).subarray(0, 16).toString("latin1"), "SQLite format 3\0", "a new database in its place");

  step = "the dashboard works on the new database";
  await browser.$("#simulate").click();
  await waitFor("a connected card", async () => (await browser.$('.connection-card[data-state="connected"]').isExisting()), 30000);
  await waitFor("the feed to fill", async () => (await browser.$$("#feed .event").length) >= 5, 30000);
  await shot("moved-aside");
  assert.ok(!(await browser.$("#store-health").isExisting()), "recording, no banner");
  clickTray("Quit OnAir");
  await waitFor("the app gone from the tray", async () => findTray() === null);
  assert.ok(existsSync(moved), "the old file is still there");
  console.log("e2e: recovery passed");
} catch (e) {
  console.error(`e2e: recovery failed at "${step}":`, e);
  if (browser) await shot(`failure-recovery-${step.replaceAll(" ", "-")}`).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser?.deleteSession().catch(() => {});
  rmSync(state, { recursive: true, force: true });
}
