// End-to-end test of the dashboard in the real app window (tauri-driver + WebKitWebDriver under Xvfb;
// run through e2e/run.sh). Starts the simulator, watches the feed fill and the connection turn connected,
// filters by kind, searches a word from a simulated chat line, opens an event's details, switches theme,
// and saves screenshots to e2e/artifacts/.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });
const application = process.env.ONAIR_APP ?? join(here, "../../target/debug/onair-desktop");

const browser = await remote({
  hostname: "127.0.0.1",
  port: Number(process.env.TAURI_DRIVER_PORT ?? 4444),
  logLevel: "error",
  capabilities: { "wdio:enforceWebDriverClassic": true, "tauri:options": { application } },
});

let step = "start";
async function shot(name) {
  writeFileSync(join(artifacts, `${name}.png`), Buffer.from(await browser.takeScreenshot(), "base64"));
}
const waitFor = (what, check, timeout = 20000) =>
  browser.waitUntil(check, { timeout, interval: 200, timeoutMsg: `timed out: ${what}` });

try {
  step = "the window";
  assert.equal(await browser.getTitle(), "OnAir");
  await waitFor("the empty state", async () => (await browser.$("#connections .empty").isExisting()));

  step = "simulate";
  await browser.$("#simulate").click();
  await waitFor("a connected card", async () =>
    (await browser.$('.connection-card[data-state="connected"]').isExisting()));
  await waitFor("the feed to fill", async () => (await browser.$$("#feed .event").length) >= 25, 30000);
  assert.match(await browser.$("#simulate").getText(), /Stop simulation/);
  await shot("dashboard-light");

  step = "reconnect";
  await browser.$(".connection-card .reconnect").click();
  await waitFor("one reconnect, connected again", async () => {
    const card = browser.$(".connection-card");
    return (await card.getAttribute("data-state")) === "connected" && /\b1 reconnect\b/.test(await card.getText());
  });

  step = "filter by kind";
  await browser.$("#kind-filter").selectByAttribute("value", "follow");
  await waitFor("only follows", async () => {
    const kinds = await browser.$$("#feed .event").map((e) => e.getAttribute("data-kind"));
    return kinds.length > 0 && kinds.every((k) => k === "follow");
  });
  await browser.$("#kind-filter").selectByAttribute("value", "");

  step = "search";
  await waitFor("chat lines", async () => (await browser.$$('#feed .event[data-kind="chat_message"]').length) > 5);
  // A word typed through WebDriver: plain letters (WebKitWebDriver's key input mangles some accented ones).
  const lines = await browser.$$('#feed .event[data-kind="chat_message"] .text').map((e) => e.getText());
  const word = lines.flatMap((l) => l.split(/[^\p{L}]+/u)).find((w) => /^[A-Za-z]{4,}$/.test(w));
  assert.ok(word, `a word to search in ${JSON.stringify(lines)}`);
  const search = browser.$("#search");
  await search.setValue(word);
  await waitFor(`results for ${word}`, async () => {
    const texts = await browser.$$("#feed .event .text").map((e) => e.getText());
    const kinds = await browser.$$("#feed .event").map((e) => e.getAttribute("data-kind"));
    return (
      texts.length > 0 &&
      kinds.every((k) => k === "chat_message") &&
      texts.every((t) => t.toLowerCase().includes(word.toLowerCase()))
    );
  });
  await search.click();
  await browser.keys(["Control", "a"]);
  await browser.keys("Backspace");
  await waitFor("the whole feed again", async () =>
    (await browser.$$("#feed .event").map((e) => e.getAttribute("data-kind"))).some((k) => k !== "chat_message"));

  step = "details";
  await browser.$("#feed .event button").click();
  await waitFor("the details panel", async () => (await browser.$("#details").isDisplayed()));
  const json = JSON.parse(await browser.$("#details-json").getText());
  assert.equal(json.channel.slug, "onair-demo");
  assert.ok(Number.isInteger(json.offset));
  await shot("details");

  step = "theme";
  await browser.$("#theme").selectByAttribute("value", "dark");
  assert.equal(await browser.execute(() => document.documentElement.dataset.theme), "dark");
  await shot("dashboard-dark");
  await browser.$("#theme").selectByAttribute("value", "system");

  step = "stop";
  await browser.$("#simulate").click();
  await waitFor("the card disconnected", async () =>
    (await browser.$('.connection-card[data-state="disconnected"]').isExisting()));
  await waitFor("the stream offline in the feed", async () =>
    (await browser.$('#feed .event[data-kind="stream_offline"]').isExisting()));
  console.log("e2e: dashboard passed (screenshots in ui/e2e/artifacts/)");
} catch (e) {
  console.error(`e2e: failed at "${step}":`, e);
  await shot(`failure-${step.replaceAll(" ", "-")}`).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.deleteSession();
}
