// Turns an event's user-written parts into DOM nodes, never markup: message text with its emotes as
// images (Kick inlines them as [emote:ID:NAME]; on Twitch the emote's name is the word itself), chatters'
// names in their colour, and their badges. Every piece of event text goes in through textContent or a
// text node, so a message can never add elements, scripts or handlers to the page.

const KICK_EMOTE = /\[emote:(\d+):([^\]]+)\]/g;

// Twitch emote ids: digits, or emotesv2_ and hex.
const TWITCH_EMOTE_ID = /^[A-Za-z0-9_]+$/;

// An emote's image URL, or null when the platform or id is not one OnAir knows.
function emoteUrl(platform, id, size = 1) {
  if (platform === "kick" && /^\d+$/.test(id)) {
    return `https://files.kick.com/emotes/${id}/fullsize`;
  }
  if (platform === "twitch" && TWITCH_EMOTE_ID.test(id)) {
    return `https://static-cdn.jtvnw.net/emoticons/v2/${id}/default/dark/${size}.0`;
  }
  return null;
}

// An <img> for an emote; it turns back into its name if the image cannot load.
function emoteImage(platform, id, name) {
  const url = emoteUrl(platform, id);
  if (url === null) return document.createTextNode(name);
  const img = document.createElement("img");
  img.className = "emote";
  img.alt = name;
  img.title = name;
  img.decoding = "async";
  img.referrerPolicy = "no-referrer";
  img.src = url;
  if (platform === "twitch") img.srcset = `${url} 1x, ${emoteUrl(platform, id, 2)} 2x`;
  img.addEventListener("error", () => img.replaceWith(document.createTextNode(name)), { once: true });
  return img;
}

// `text` with its emotes as images, as a DocumentFragment.
export function richText(text, emotes, platform) {
  const fragment = document.createDocumentFragment();
  const source = typeof text === "string" ? text : "";
  if (platform === "kick") {
    let at = 0;
    for (const match of source.matchAll(KICK_EMOTE)) {
      if (match.index > at) fragment.append(source.slice(at, match.index));
      fragment.append(emoteImage(platform, match[1], match[2]));
      at = match.index + match[0].length;
    }
    if (at < source.length) fragment.append(source.slice(at));
    return fragment;
  }
  const byName = new Map();
  for (const emote of Array.isArray(emotes) ? emotes : []) {
    if (typeof emote?.name === "string" && typeof emote?.id === "string") byName.set(emote.name, emote.id);
  }
  if (byName.size === 0) {
    fragment.append(source);
    return fragment;
  }
  // Words and the spaces between them; a word that is an emote's name becomes its image.
  let pending = "";
  for (const part of source.split(/(\s+)/)) {
    const id = byName.get(part);
    if (id === undefined) {
      pending += part;
      continue;
    }
    if (pending !== "") fragment.append(pending);
    pending = "";
    fragment.append(emoteImage(platform, id, part));
  }
  if (pending !== "") fragment.append(pending);
  return fragment;
}

// The name to show for an actor (`{id, login, display_name}`), or `fallback`.
export function displayName(actor, fallback) {
  const name = actor?.display_name || actor?.login;
  return typeof name === "string" && name.trim() !== "" ? name : fallback;
}

// Name colours for chatters who set none, picked by their login so each keeps one.
const PALETTE = ["#ff7eb6", "#7ee0ff", "#ffd166", "#9bf6a3", "#c3a6ff", "#ffa26b", "#6bd4ff", "#f4a4ff"];

// A readable colour for a chatter's name: theirs (lightened when too dark to read on the overlay's dark
// backing), or one from the palette.
export function nameColor(color, login) {
  const hex = typeof color === "string" ? /^#([0-9a-f]{6})$/i.exec(color.trim()) : null;
  if (hex === null) {
    let hash = 0;
    for (const ch of String(login ?? "")) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return PALETTE[hash % PALETTE.length];
  }
  const value = Number.parseInt(hex[1], 16);
  let [r, g, b] = [(value >> 16) & 255, (value >> 8) & 255, value & 255];
  const luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  if (luminance < 0.45) {
    const mix = (0.45 - luminance) / 0.45;
    [r, g, b] = [r, g, b].map((c) => Math.round(c + (255 - c) * mix * 0.75));
  }
  return `rgb(${r}, ${g}, ${b})`;
}

// Badge types by platform names, to a label and a style.
const BADGES = {
  broadcaster: ["HOST", "broadcaster"],
  moderator: ["MOD", "moderator"],
  vip: ["VIP", "vip"],
  subscriber: ["SUB", "subscriber"],
  founder: ["FOUNDER", "founder"],
  og: ["OG", "og"],
  sub_gifter: ["GIFTER", "gifter"],
  "sub-gifter": ["GIFTER", "gifter"],
  verified: ["✓", "verified"],
  partner: ["✓", "verified"],
  staff: ["STAFF", "staff"],
  bits: ["BITS", "bits"],
  premium: ["PRIME", "other"],
  turbo: ["TURBO", "other"],
};

// The badges (`[{type, count}]`) as small labelled pills.
export function badgeList(badges) {
  const list = document.createElement("span");
  list.className = "badges";
  for (const badge of Array.isArray(badges) ? badges : []) {
    if (typeof badge?.type !== "string" || badge.type === "") continue;
    const [label, style] = BADGES[badge.type.toLowerCase()] ?? [badge.type.toUpperCase().slice(0, 10), "other"];
    const pill = document.createElement("span");
    pill.className = `badge badge--${style}`;
    const count = Number.isInteger(badge.count) && badge.count > 1 ? ` ${badge.count}` : "";
    pill.textContent = label + count;
    list.append(pill);
  }
  return list;
}

// The platform's name, for a small chip.
export function platformChip(platform) {
  const chip = document.createElement("span");
  const known = platform === "kick" || platform === "twitch" ? platform : "other";
  chip.className = `platform platform--${known}`;
  chip.textContent = known === "kick" ? "Kick" : known === "twitch" ? "Twitch" : String(platform ?? "");
  return chip;
}
