// The store-health banner's logic: what it says for the hub's StoreHealthView, and for how long. Writes
// held up show the hub's sentence (what is wrong, what to do) until they succeed again; "recording again"
// is a short confirmation that goes away by itself.
import type { StoreHealthView } from "./bindings";

/** How long "recording again" stays up, in milliseconds. */
export const RECOVERED_SHOWN_MS = 5000;

export interface HealthBanner {
  /** `alert` while events wait in memory, `ok` for the confirmation. */
  tone: "alert" | "ok";
  /** The hub's sentence, starting with a capital. */
  text: string;
}

/** The banner for `health` at `now` (ms since the epoch), or null when there is nothing to say. */
export function healthBanner(health: StoreHealthView | null, now: number): HealthBanner | null {
  if (!health?.message) return null;
  const text = health.message.charAt(0).toUpperCase() + health.message.slice(1);
  switch (health.state) {
    case "held_up":
      return { tone: "alert", text };
    case "recovered":
      return recoveredLeft(health, now) > 0 ? { tone: "ok", text } : null;
    case "recording":
      return null;
  }
}

/** Milliseconds until the banner for `health` goes away by itself, or null when it does not. */
export function bannerExpiresIn(health: StoreHealthView | null, now: number): number | null {
  if (health?.state !== "recovered") return null;
  return Math.max(0, recoveredLeft(health, now));
}

function recoveredLeft(health: StoreHealthView, now: number): number {
  const since = Date.parse(health.since);
  // A clock that cannot be read shows the confirmation for its full time rather than not at all.
  return Number.isNaN(since) ? RECOVERED_SHOWN_MS : since + RECOVERED_SHOWN_MS - now;
}
