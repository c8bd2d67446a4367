// The alerts overlay (/overlays/alerts): follows, subscriptions, gifted subscriptions, raids and cheers
// as animated cards, one at a time, in the order they happened. Each stays `duration` seconds (6 unless
// the URL says otherwise), then leaves, and the next comes in. The individual subscriptions a gift hands
// out (Twitch sends one per recipient, `is_gift`) are not shown again: the gift's own alert covers them.

import { connect, readParams } from "./connection.js";
import { displayName, platformChip, richText } from "./richtext.js";

const KINDS = ["follow", "subscription", "subscription_gift", "raid", "cheer"];
const params = readParams(KINDS);
const shownMs = params.number("duration", 6, 1, 120) * 1000;
// The leaving animation (alerts.css) and the pause before the next alert.
const LEAVE_MS = 500;
const GAP_MS = 250;

const stage = document.getElementById("alerts");
const queue = [];
let showing = false;

const count = (n) => new Intl.NumberFormat().format(n);
const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`;

// A tier as people say it: Twitch's 1000/2000/3000 are tiers 1 to 3.
function tierName(tier) {
  if (typeof tier !== "string" || tier === "") return null;
  const twitch = { 1000: "Tier 1", 2000: "Tier 2", 3000: "Tier 3", prime: "Prime" }[tier.toLowerCase()];
  return twitch ?? tier;
}

// What an alert says: its style, a small heading, the name, the line under it and the viewer's message;
// null for events that are not alerts.
function describe(event) {
  const data = event.data ?? {};
  const who = (fallback) => displayName(event.actor, fallback);
  const positive = (n) => (Number.isFinite(n) && n > 0 ? n : null);
  switch (event.kind) {
    case "follow":
      return { style: "follow", heading: "New follower", name: who("Someone"), line: "just followed!" };
    case "subscription": {
      if (data.is_gift) return null;
      const months = positive(data.months);
      const tier = tierName(data.tier);
      const line = months !== null && months > 1 ? `subscribed for ${plural(months, "month", "months")}` : "just subscribed";
      return {
        style: "subscription",
        heading: months !== null && months > 1 ? "Resubscription" : "New subscriber",
        name: who("Someone"),
        line: tier ? `${line} · ${tier}` : `${line}!`,
        message: data.message,
      };
    }
    case "subscription_gift": {
      const quantity = positive(data.quantity) ?? 1;
      const tier = tierName(data.tier);
      const subs = plural(quantity, tier ? `${tier} sub` : "sub", tier ? `${tier} subs` : "subs");
      const recipients = Array.isArray(data.recipients) ? data.recipients.filter((r) => typeof r === "string") : [];
      let to = "to the community";
      if (recipients.length > 0) {
        const named = recipients.slice(0, 4).join(", ");
        to = `to ${named}${recipients.length > 4 ? ` and ${count(recipients.length - 4)} more` : ""}`;
      }
      return { style: "gift", heading: "Gifted subs", name: who("An anonymous gifter"), line: `gifted ${subs} ${to}!` };
    }
    case "raid": {
      const viewers = positive(data.viewers);
      return {
        style: "raid",
        heading: "Raid",
        name: who("A channel"),
        line: viewers !== null ? `is raiding with ${plural(viewers, "viewer", "viewers")}!` : "is raiding!",
        message: data.message,
      };
    }
    case "cheer": {
      const amount = positive(data.amount) ?? 0;
      const line = data.currency === "kicks" ? `sent ${plural(amount, "Kick", "Kicks")}!` : `cheered ${plural(amount, "bit", "bits")}!`;
      const heading = data.currency === "kicks" ? "Kicks" : "Cheer";
      return { style: "cheer", heading, name: who("Anonymous"), line, message: data.message };
    }
    default:
      return null;
  }
}

// One icon per style: simple shapes drawn on a 24×24 grid.
const ICONS = {
  follow: "M12 21.2 10.6 20C5.4 15.4 2 12.3 2 8.5 2 5.4 4.4 3 7.5 3c1.7 0 3.4.8 4.5 2.1C13.1 3.8 14.8 3 16.5 3 19.6 3 22 5.4 22 8.5c0 3.8-3.4 6.9-8.6 11.5Z",
  subscription: "m12 2 3.1 6.3 6.9 1-5 4.9 1.2 6.8L12 17.8 5.8 21l1.2-6.8-5-4.9 6.9-1Z",
  gift: "M3 8h18v4H3Zm1 5h7v8H4Zm9 0h7v8h-7ZM11 8h2v13h-2Zm1-1C9 7 6.5 6 6.5 4.3 6.5 3 7.6 2 9 2.3 10.6 2.6 11.6 4.8 12 7c.4-2.2 1.4-4.4 3-4.7 1.4-.3 2.5.7 2.5 2C17.5 6 15 7 12 7Z",
  raid: "M13 2 4 14h6l-1 8 9-12h-6Z",
  cheer: "M6 3h12l4 6-10 12L2 9Z",
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function icon(style) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[style]);
  svg.append(path);
  const holder = el("div", "alert__icon");
  holder.append(svg);
  return holder;
}

// The card for `event`, or null.
function card(event) {
  const alert = describe(event);
  if (alert === null) return null;
  const node = el("article", `alert alert--${alert.style}`);
  node.dataset.offset = String(event.offset);
  node.dataset.kind = event.kind;
  node.style.setProperty("--shown", `${shownMs}ms`);
  const heading = el("div", "alert__heading");
  heading.append(platformChip(event.platform), el("span", "", alert.heading));
  const body = el("div", "alert__body");
  const name = el("div", "alert__name", alert.name);
  // Long names get smaller rather than broken over lines.
  const length = Array.from(alert.name).length;
  if (length > 16) name.classList.add(length > 24 ? "alert__name--longer" : "alert__name--long");
  body.append(heading, name, el("div", "alert__line", alert.line));
  if (typeof alert.message === "string" && alert.message.trim() !== "") {
    const message = el("div", "alert__message");
    message.append(richText(alert.message, [], event.platform));
    body.append(message);
  }
  node.append(icon(alert.style), body, el("div", "alert__timer"));
  return node;
}

function next() {
  const node = queue.shift();
  if (node === undefined) {
    showing = false;
    return;
  }
  showing = true;
  stage.append(node);
  setTimeout(() => {
    node.classList.add("alert--leaving");
    setTimeout(() => {
      node.remove();
      setTimeout(next, GAP_MS);
    }, LEAVE_MS);
  }, shownMs);
}

connect(params, (event) => {
  const node = card(event);
  if (node === null) return;
  queue.push(node);
  if (!showing) next();
});
