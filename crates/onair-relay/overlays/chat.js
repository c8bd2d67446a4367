// The chat overlay (/overlays/chat): chat messages from every subscribed channel in one box, newest at
// the bottom, emotes as images, badges, names in their colour, the message replied to above a reply. It
// keeps the last `lines` messages (30 unless the URL says otherwise); with `fade=SECONDS` each message
// also leaves after that long. Moderation follows the chat: a deleted message, a cleared chat and the
// messages of a banned or timed-out chatter disappear.

import { connect, readParams } from "./connection.js";
import { badgeList, displayName, nameColor, platformChip, richText } from "./richtext.js";

const KINDS = ["chat_message", "message_deleted", "chat_cleared", "ban", "timeout"];
const params = readParams(KINDS);
const maxLines = Math.round(params.number("lines", 30, 1, 200));
const fadeMs = params.number("fade", 0, 0, 86400) * 1000;
const LEAVE_MS = 400;

const box = document.getElementById("chat");

const channelKey = (event) => `${event.platform}:${event.channel?.platform_id ?? ""}`;
const userKey = (event, actor) => `${event.platform}:${actor?.id ?? ""}`;
// The platform's id of a chat message: Kick's events keep it as their source id, `chat:ID`.
const messageId = (sourceId) => (typeof sourceId === "string" ? sourceId.replace(/^chat:/, "") : "");

function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shorten(text, most) {
  const chars = Array.from(String(text ?? ""));
  return chars.length > most ? `${chars.slice(0, most - 1).join("")}…` : chars.join("");
}

function leave(line) {
  if (line.classList.contains("line--leaving")) return;
  line.classList.add("line--leaving");
  setTimeout(() => line.remove(), LEAVE_MS);
}

function addLine(event) {
  const data = event.data ?? {};
  const line = el("div", `line on-${event.platform === "kick" || event.platform === "twitch" ? event.platform : "other"}`);
  line.dataset.offset = String(event.offset);
  line.dataset.kind = event.kind;
  line.dataset.channel = channelKey(event);
  line.dataset.user = userKey(event, event.actor);
  line.dataset.message = messageId(event.source_id);
  const reply = data.reply_to;
  if (reply && typeof reply === "object") {
    const replying = el("div", "line__reply");
    replying.append(el("span", "line__reply-to", `↪ @${reply.login ?? ""}`), ` ${shorten(reply.text, 90)}`);
    line.append(replying);
  }
  const name = el("span", "line__name", displayName(event.actor, "someone"));
  name.style.color = nameColor(data.color, event.actor?.login);
  const text = el("span", "line__text");
  text.append(richText(data.text, data.emotes, event.platform));
  const head = el("span", "line__head");
  head.append(platformChip(event.platform), badgeList(data.badges), name);
  line.append(head, text);
  box.append(line);
  while (box.children.length > maxLines) box.firstElementChild.remove();
  if (fadeMs > 0) setTimeout(() => leave(line), fadeMs);
}

function removeLines(matches) {
  for (const line of Array.from(box.children)) if (matches(line)) leave(line);
}

connect(params, (event) => {
  const channel = channelKey(event);
  switch (event.kind) {
    case "chat_message":
      addLine(event);
      break;
    case "message_deleted": {
      const id = event.data?.message_id;
      if (typeof id === "string" && id !== "") {
        removeLines((line) => line.dataset.channel === channel && line.dataset.message === id);
      }
      break;
    }
    case "chat_cleared":
      removeLines((line) => line.dataset.channel === channel);
      break;
    case "ban":
    case "timeout":
      if (event.target?.id) {
        const user = userKey(event, event.target);
        removeLines((line) => line.dataset.channel === channel && line.dataset.user === user);
      }
      break;
    default:
      break;
  }
});
