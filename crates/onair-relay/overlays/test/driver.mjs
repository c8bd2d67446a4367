// Drives the overlays in headless Chromium (Debian's /usr/bin/chromium, through playwright-core; no
// browser download) for onair-relay's tests/overlays.rs. It reads one JSON command a line on stdin and
// prints one JSON line on stdout per thing that happens:
//   {"cmd":"open","page":NAME,"url":URL,"width":W,"height":H}  opens a page: {"opened":{page,state,notice}}
//       once it is live or has failed; then, as they come, {"state":{page,state}} for each state change
//       and {"shown":{page,offset,kind,text,imgs,scripts,handlers}} for each alert or chat line added;
//   {"cmd":"count","page":NAME,"selector":CSS}               {"count":N,"last":OFFSET|null}
//   {"cmd":"eval","page":NAME,"expr":JS}                     {"eval":VALUE}
//   {"cmd":"wait","page":NAME,"expr":JS}                     {"waited":true} once JS is true
//   {"cmd":"screenshot","page":NAME,"path":FILE,"selector":CSS}  once the element's animations are done,
//       over a stand-in game scene (the page itself is transparent): {"screenshot":FILE}
//   {"cmd":"close","page":NAME} / {"cmd":"quit"}             {"closed":NAME} / {"quit":true}
// Uncaught page errors and Content-Security-Policy refusals are printed as {"page_error":TEXT}. Emote
// images are answered locally (an SVG face), so nothing leaves the machine.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const EMOTE = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 28 28"><circle cx="14" cy="14" r="13" fill="#ffcc33"/><circle cx="9.5" cy="11" r="2" fill="#3b2a00"/><circle cx="18.5" cy="11" r="2" fill="#3b2a00"/><path d="M8 17c3 4 9 4 12 0" stroke="#3b2a00" stroke-width="2.2" fill="none" stroke-linecap="round"/></svg>`;
// What a test scene looks like behind the transparent overlay, for the screenshots.
const SCENE = "linear-gradient(135deg, #1d3b53 0%, #3c6e71 45%, #d9a441 100%)";

const pages = new Map();
const names = new Map();

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
const context = await browser.newContext();
await context.route(/^https:\/\/(files\.kick\.com|static-cdn\.jtvnw\.net)\//, (route) =>
  route.fulfill({ status: 200, contentType: "image/svg+xml", body: EMOTE }),
);
// In every page: report each state change and each alert or chat line added, as it happens.
await context.exposeBinding("onairReport", ({ page }, what, value) => {
  const name = names.get(page);
  if (name !== undefined) say({ [what]: { page: name, ...value } });
});
await context.addInitScript(() => {
  const seen = new WeakSet();
  const report = (node) => {
    if (!(node instanceof HTMLElement) || !node.dataset.offset || seen.has(node)) return;
    seen.add(node);
    window.onairReport("shown", {
      offset: Number(node.dataset.offset),
      kind: node.dataset.kind,
      text: node.innerText,
      imgs: Array.from(node.querySelectorAll("img"), (img) => img.src),
      scripts: node.querySelectorAll("script").length,
      handlers: Array.from(node.querySelectorAll("*")).filter((e) => e.getAttributeNames().some((a) => a.startsWith("on"))).length,
    });
  };
  const observer = new MutationObserver((changes) => {
    for (const change of changes) {
      const state = document.documentElement?.dataset.state;
      if (change.type === "attributes" && state) window.onairReport("state", { state });
      for (const node of change.addedNodes) report(node);
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
});

async function open({ page: name, url, width = 1920, height = 1080 }) {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  pages.set(name, page);
  names.set(page, name);
  page.on("pageerror", (error) => say({ page_error: `${name}: ${error.message}` }));
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) say({ page_error: `${name}: ${message.text()}` });
  });
  await page.goto(url);
  await page.waitForFunction(() => ["live", "unauthorized", "failed"].includes(document.documentElement.dataset.state));
  const state = await page.evaluate(() => document.documentElement.dataset.state);
  const notice = await page.evaluate(() => document.getElementById("onair-notice")?.innerText ?? null);
  say({ opened: { page: name, state, notice } });
}

async function screenshot({ page: name, path, selector }) {
  const page = pages.get(name);
  const element = page.locator(selector).last();
  await element.waitFor();
  // The entrance animations (not the endless ones, nor the alert's countdown).
  await element.evaluate((node) =>
    Promise.all(
      [node, ...node.querySelectorAll("*")]
        .flatMap((n) => n.getAnimations())
        .filter((a) => a.effect?.getTiming().iterations !== Infinity && /-in$/.test(a.animationName ?? ""))
        .map((a) => a.finished),
    ),
  );
  await page.evaluate((scene) => {
    document.documentElement.style.background = scene;
  }, SCENE);
  await page.screenshot({ path });
  await page.evaluate(() => {
    document.documentElement.style.background = "";
  });
  say({ screenshot: path });
}

const commands = {
  open,
  screenshot,
  async count({ page, selector }) {
    const found = await pages.get(page).evaluate((selector) => {
      const all = document.querySelectorAll(selector);
      return { count: all.length, last: all.length > 0 ? Number(all[all.length - 1].dataset.offset) : null };
    }, selector);
    say(found);
  },
  async wait({ page, expr }) {
    // Polled with evaluate: waitForFunction would compile the expression in the page, which its CSP forbids.
    const deadline = Date.now() + 20000;
    while (!(await pages.get(page).evaluate(expr))) {
      if (Date.now() > deadline) throw new Error(`still false after 20 s: ${expr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    say({ waited: true });
  },
  async eval({ page, expr }) {
    say({ eval: (await pages.get(page).evaluate(expr)) ?? null });
  },
  async close({ page }) {
    await pages.get(page).close();
    pages.delete(page);
    say({ closed: page });
  },
  async quit() {
    await browser.close();
    say({ quit: true });
    process.exit(0);
  },
};

// One command at a time, in order.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line);
  queue = queue
    .then(() => commands[command.cmd](command))
    .catch((error) => {
      say({ driver_error: `${command.cmd}: ${error.stack ?? error}` });
    });
});
process.stdin.on("end", () => queue.then(() => browser.close()).then(() => process.exit(0)));
