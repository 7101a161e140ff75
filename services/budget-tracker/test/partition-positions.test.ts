import type { MetaState } from "@adpipe/spend-store";
import { describe, expect, it } from "vitest";
import { PartitionPositions } from "../src/partition-positions.js";

function meta(offsets: { partition: number; offset: number }[]): MetaState {
  return { epoch: 1, createdAtMs: 1, generation: 0, offsets, resetDetected: null, lastReset: null };
}

describe("PartitionPositions", () => {
  it("resumes each assigned partition of the topic at its recorded offset, 0 when none is recorded", () => {
    const positions = new PartitionPositions("clicks");
    positions.assign([
      { topic: "clicks", partition: 0 },
      { topic: "clicks", partition: 2 },
      { topic: "other", partition: 1 },
    ]);
    expect(positions.resumeFrom(meta([{ partition: 0, offset: 42 }]))).toEqual([
      { topic: "clicks", partition: 0, offset: "42" },
      { topic: "clicks", partition: 2, offset: "0" },
    ]);
    expect(positions.standing(0)).toBe(42n);
    expect(positions.standing(2)).toBe(0n);
    expect(positions.standing(1)).toBeUndefined();
  });

  it("resumes from 0 without a meta state, and stands after the last applied offset", () => {
    const positions = new PartitionPositions("clicks");
    positions.assign([{ topic: "clicks", partition: 3 }]);
    expect(positions.resumeFrom(null)).toEqual([{ topic: "clicks", partition: 3, offset: "0" }]);
    positions.applied(3, 99);
    expect(positions.standing(3)).toBe(100n);
  });

  it("resumes the assignments it is given (an assignment being answered), not a newer one", () => {
    const positions = new PartitionPositions("clicks");
    const answering = [{ topic: "clicks", partition: 0 }];
    positions.assign(answering);
    positions.assign([{ topic: "clicks", partition: 1 }]);
    expect(positions.resumeFrom(meta([{ partition: 0, offset: 7 }]), answering)).toEqual([
      { topic: "clicks", partition: 0, offset: "7" },
    ]);
  });
});
