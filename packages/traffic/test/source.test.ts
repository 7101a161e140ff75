import { generateStream } from "@adpipe/core";
import { describe, expect, test } from "vitest";
import { InlineSource, packChunk, unpackChunk } from "../src/source.js";

const OPTIONS = { seed: 3, events: 3_000, advertisers: 7, intervalMs: 2.5, runId: "src" };

describe("packChunk / unpackChunk", () => {
  test("round-trips keys, bytes, timestamps and kinds (null keys and empty payloads included)", () => {
    const records = [...generateStream(OPTIONS)];
    expect(records.some((record) => record.key === null)).toBe(true);
    expect(records.some((record) => record.value.byteLength === 0)).toBe(true);
    const unpacked = unpackChunk(packChunk(records));
    expect(unpacked.map((r) => [r.key, Buffer.from(r.value).toString("hex"), r.timestampMs, r.kind])).toEqual(
      records.map((r) => [r.key, Buffer.from(r.value).toString("hex"), r.timestampMs, r.kind]),
    );
  });
});

describe("InlineSource", () => {
  test("hands out the stream in order, in slices, then []", async () => {
    const source = new InlineSource(OPTIONS);
    const seen = [];
    for (;;) {
      const slice = await source.next(700);
      if (slice.length === 0) break;
      expect(slice.length).toBeLessThanOrEqual(700);
      seen.push(...slice);
    }
    await source.close();
    expect(seen.map((r) => r.timestampMs)).toEqual([...generateStream(OPTIONS)].map((r) => r.timestampMs));
  });
});
