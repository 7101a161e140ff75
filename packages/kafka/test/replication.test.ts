import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_DEFAULT_REPLICATION_FACTOR, topicReplication } from "../src/replication.js";

describe("topicReplication", () => {
  it("copies a topic to every broker up to three, and never asks for fewer than one copy", () => {
    expect(topicReplication(0)).toEqual({ replicationFactor: 1 });
    expect(topicReplication(1)).toEqual({ replicationFactor: 1 });
    expect(topicReplication(2)).toEqual({ replicationFactor: 2 });
    expect(topicReplication(3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(topicReplication(12)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it("takes a requested factor as it is, whatever the cluster size", () => {
    expect(topicReplication(1, 5)).toEqual({ replicationFactor: 5, minInsyncReplicas: 4 });
    expect(topicReplication(9, 2)).toEqual({ replicationFactor: 2 });
  });

  it("keeps one copy of slack from three copies up, and the broker's default below", () => {
    fc.assert(
      fc.property(
        fc.nat(100),
        fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
        (brokers, asked) => {
          const { replicationFactor, minInsyncReplicas } = topicReplication(brokers, asked);
          const expected = asked ?? Math.min(MAX_DEFAULT_REPLICATION_FACTOR, Math.max(1, brokers));
          expect(replicationFactor).toBe(expected);
          if (replicationFactor >= 3) expect(minInsyncReplicas).toBe(replicationFactor - 1);
          else expect(minInsyncReplicas).toBeUndefined();
        },
      ),
    );
  });
});
