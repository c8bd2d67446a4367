// What the E2E scripts (dashboard.mjs, recovery.mjs, crash.mjs) share to drive the app: where the app, the
// `onair` command and the artifacts are, a private database and XDG folders given to the app through a
// launcher, the WebDriver session (one OnAir at a time: single-instance), waiting with and without it, and
// screenshots. Each script keeps its own steps and its own reporting.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

const here = dirname(fileURLToPath(import.meta.url));
export const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });
export const application = process.env.ONAIR_APP ?? join(here, "../../target/debug/onair-desktop");
// The command-line `onair`, from the same build as the app (ONAIR_CLI overrides).
export const onairCli = process.env.ONAIR_CLI ?? join(dirname(application), "onair");

/** How often `until` and `waitFor` check, in ms (a script may poll faster). */
export const poll = { until: 100, waitFor: 200 };

/**
 * A database and XDG folders of the script's own, in a new temporary folder, and a launcher that gives them
 * and `env` to the app (WebDriver passes the app no environment).
 */
export function ownState(name, env = {}) {
  const state = mkdtempSync(join(tmpdir(), `onair-e2e-${name}-`));
  const db = join(state, "onair.db");
  const launcher = join(state, "onair-desktop.sh");
  const vars = { ONAIR_DB: db, XDG_DATA_HOME: `${state}/data`, XDG_CONFIG_HOME: `${state}/config`, XDG_CACHE_HOME: `${state}/cache`, ...env };
  const exports = Object.entries(vars).map(([key, value]) => `${key}='${value}'`).join(" ");
  writeFileSync(launcher, ["#!/bin/sh", `export ${exports}`, `exec '${application}' "$@"`, ""].join("\n"));
  chmodSync(launcher, 0o755);
  return { state, db, launcher };
}

/** Whether an OnAir still owns its single-instance name on the session bus (a launch would then go to it). */
export function anotherOnAir() {
  const names = execFileSync("gdbus", ["call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
    "--method", "org.freedesktop.DBus.ListNames"], { encoding: "utf8" });
  return names.includes("app.onair.desktop.SingleInstance");
}

/** Waits until `check()` holds, without the WebDriver session (the app may be gone). */
export async function until(what, check, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, poll.until));
  }
}

/** The WebDriver session on the app: set by `session()`, null before it and after `endSession()`. */
export let browser = null;

/** Once no other OnAir is left on the bus, launches `app` (the app, or a launcher of it) in a new session. */
export async function session(app) {
  await until("the previous OnAir gone", () => !anotherOnAir());
  browser = await remote({
    hostname: "127.0.0.1",
    port: Number(process.env.TAURI_DRIVER_PORT ?? 4444),
    logLevel: "error",
    capabilities: { "wdio:enforceWebDriverClassic": true, "tauri:options": { application: app } },
  });
  return browser;
}

/** Ends the session, if any (the app may be gone already). */
export async function endSession() {
  await browser?.deleteSession().catch(() => {});
  browser = null;
}

export const waitFor = (what, check, timeout = 20000) =>
  browser.waitUntil(check, { timeout, interval: poll.waitFor, timeoutMsg: `timed out: ${what}` });

/**
 * Saves a screenshot. WebKitWebDriver takes it at the page's next repaint, so on a page where nothing moves
 * it would wait for ever: after 10 s the screenshot is given up (it is evidence, not a check).
 */
export async function shot(name) {
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10000).unref());
  const png = await Promise.race([browser.takeScreenshot(), timeout]);
  if (png) writeFileSync(join(artifacts, `${name}.png`), Buffer.from(png, "base64"));
  else console.log(`e2e: no screenshot ${name} (the page did not repaint)`);
}
