// End-to-end test of the recovery screen, in sessions of their own after the dashboard's (run through
// e2e/run.sh): OnAir launched on a file that is not a database shows what is wrong (the file named) instead
// of exiting; Quit quits; launched again, "Move it aside and start a new database" keeps the file byte for
// byte beside it, says where, and the dashboard works on the new database without a restart.
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { anotherOnAir, browser, endSession, ownState, session, shot, until, waitFor } from "./session.mjs";
import { clickTray, findTray } from "./tray.mjs";

const { state, db, launcher } = ownState("recovery");
const notADatabase = Buffer.from("Stream schedule\nMon 18:00 ranked\nWed 20:00 community night\n".repeat(150));
writeFileSync(db, notADatabase);

let step = "start";
try {
  step = "the recovery screen";
  await session(launcher);
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
  await endSession();
  assert.deepEqual(readFileSync(db), notADatabase, "quitting leaves the file as it was");

  step = "move it aside";
  await session(launcher);
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
  await endSession();
  rmSync(state, { recursive: true, force: true });
}
