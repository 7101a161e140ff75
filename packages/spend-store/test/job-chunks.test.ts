import { chunked } from "@adpipe/spend-store";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

// The periodic jobs pipeline one chunk per round trip: every item once, in order, no chunk over the size.
describe("chunked", () => {
  it("splits into chunks of at most `size`, all full but the last, whose concatenation is the input", () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 300 }), (items, size) => {
        const chunks = chunked(items, size);
        expect(chunks.flat()).toEqual(items);
        expect(chunks.length).toBe(Math.ceil(items.length / size));
        chunks.forEach((chunk, i) => {
          if (i < chunks.length - 1) expect(chunk.length).toBe(size);
          else expect(chunk.length).toBeGreaterThan(0);
          expect(chunk.length).toBeLessThanOrEqual(size);
        });
      }),
    );
  });
});
