import { describe, expect, it } from "vitest";
import { dataIndex, scrollShift, visibleRange } from "./virtual";

describe("visibleRange", () => {
  it("renders only the rows in view plus the overscan, however long the list", () => {
    const r = visibleRange(30 * 50_000, 600, 30, 100_000, 10);
    expect(r).toEqual({ start: 49_990, end: 50_031 });
    expect(r.end - r.start).toBeLessThan(60);
  });
  it("clamps at both ends and handles empty lists", () => {
    expect(visibleRange(0, 600, 30, 5)).toEqual({ start: 0, end: 5 });
    expect(visibleRange(-50, 600, 30, 100)).toEqual({ start: 0, end: 31 });
    expect(visibleRange(1e9, 600, 30, 100)).toEqual({ start: 100, end: 100 });
    expect(visibleRange(0, 600, 30, 0)).toEqual({ start: 0, end: 0 });
  });
});

describe("dataIndex", () => {
  it("maps display rows to the oldest-first data in either order", () => {
    expect(dataIndex(0, 10, true)).toBe(9);
    expect(dataIndex(9, 10, true)).toBe(0);
    expect(dataIndex(3, 10, false)).toBe(3);
  });
});

describe("scrollShift", () => {
  it("keeps the rows being read in place when new ones arrive above them", () => {
    expect(scrollShift(4, 30, true, false)).toBe(120);
  });
  it("does not move a view at the live edge, or one whose new rows arrive below", () => {
    expect(scrollShift(4, 30, true, true)).toBe(0);
    expect(scrollShift(4, 30, false, false)).toBe(0);
    expect(scrollShift(0, 30, true, false)).toBe(0);
  });
});
