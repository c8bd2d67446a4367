import { describe, expect, it } from "vitest";
import type { StoreHealthView } from "./bindings";
import { RECOVERED_SHOWN_MS, bannerExpiresIn, healthBanner } from "./health";

const since = "2026-12-07T16:00:00Z";
const at = (ms: number) => Date.parse(since) + ms;
const heldUp: StoreHealthView = {
  state: "held_up",
  message: "recording is held up: another program holds the database's write lock: close it. 3 events wait in memory",
  since,
};
const recovered: StoreHealthView = { state: "recovered", message: "recording again: every event that waited is now stored", since };

describe("healthBanner", () => {
  it("says nothing while recording", () => {
    expect(healthBanner(null, at(0))).toBeNull();
    expect(healthBanner({ state: "recording", message: null, since }, at(0))).toBeNull();
  });

  it("shows the hub's sentence while writes are held up, for as long as they are", () => {
    const banner = healthBanner(heldUp, at(60 * 60 * 1000));
    expect(banner?.tone).toBe("alert");
    expect(banner?.text).toMatch(/^Recording is held up: another program holds the database's write lock: close it/);
    expect(bannerExpiresIn(heldUp, at(0))).toBeNull();
  });

  it("confirms recording again for a short while, then goes away", () => {
    expect(healthBanner(recovered, at(1000))).toEqual({ tone: "ok", text: "Recording again: every event that waited is now stored" });
    expect(bannerExpiresIn(recovered, at(1000))).toBe(RECOVERED_SHOWN_MS - 1000);
    expect(healthBanner(recovered, at(RECOVERED_SHOWN_MS))).toBeNull();
    expect(bannerExpiresIn(recovered, at(RECOVERED_SHOWN_MS + 5000))).toBe(0);
  });

  it("shows a confirmation whose time cannot be read for its full time", () => {
    const odd = { ...recovered, since: "not a time" };
    expect(healthBanner(odd, at(0))?.tone).toBe("ok");
    expect(bannerExpiresIn(odd, at(0))).toBe(RECOVERED_SHOWN_MS);
  });
});
