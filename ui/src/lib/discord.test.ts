import { describe, expect, it } from "vitest";
import { discordSpec, watchedChannels, watchedSpec } from "./discord";

const GUILD = "1085131932938797063";
const GENERAL = "1085131964526100482";
const OFF_TOPIC = "1085131964526100499";

describe("discord specs", () => {
  it("names the server, and the channels whose messages to record when there are some", () => {
    expect(discordSpec(GUILD, [])).toBe(`discord:${GUILD}`);
    expect(discordSpec(GUILD, [GENERAL, OFF_TOPIC, GENERAL])).toBe(`discord:${GUILD}/${GENERAL},${OFF_TOPIC}`);
  });

  it("finds the watched server's spec and channels, not another server's with the same prefix", () => {
    const watched = ["kick:nebulacast", `discord:${GUILD}1/${OFF_TOPIC}`, `discord:${GUILD}/${GENERAL},${OFF_TOPIC}`];
    expect(watchedSpec(watched, GUILD)).toBe(`discord:${GUILD}/${GENERAL},${OFF_TOPIC}`);
    expect(watchedChannels(watched, GUILD)).toEqual([GENERAL, OFF_TOPIC]);
    expect(watchedChannels([`discord:${GUILD}`], GUILD)).toEqual([]);
    expect(watchedSpec(["twitch:nebulacast"], GUILD)).toBeUndefined();
    expect(watchedChannels([], GUILD)).toEqual([]);
  });
});
