import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_DEFAULT_REPLICATION_FACTOR,
  replicationShortfall,
  topicReplication,
  unregisteredReplicaBrokers,
} from "../src/replication.js";

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

describe("unregisteredReplicaBrokers", () => {
  it("names the brokers holding replicas that are not registered, once each, ascending", () => {
    expect(unregisteredReplicaBrokers([1, 2], [1, 2, 3, 3, 1, 5])).toEqual([3, 5]);
    expect(unregisteredReplicaBrokers([1, 2, 3], [3, 1, 2])).toEqual([]);
    expect(unregisteredReplicaBrokers([], [])).toEqual([]);
  });

  it("gives exactly the assigned brokers outside the registered set", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(20)), fc.array(fc.nat(20)), (registered, assigned) => {
        const missing = unregisteredReplicaBrokers(registered, assigned);
        const expected = [...new Set(assigned)]
          .filter((id) => !registered.includes(id))
          .sort((a, b) => a - b);
        expect(missing).toEqual(expected);
      }),
    );
  });
});

describe("replicationShortfall", () => {
  it("is loud only when a default factor below 3 was chosen while brokers were missing", () => {
    fc.assert(
      fc.property(
        fc.nat(10),
        fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
        fc.array(fc.nat(10), { maxLength: 3 }),
        (brokers, requested, missing) => {
          const replication = topicReplication(brokers, requested);
          const shortfall = replicationShortfall(replication, requested, missing);
          if (requested !== undefined || replication.replicationFactor >= MAX_DEFAULT_REPLICATION_FACTOR)
            expect(shortfall).toBeUndefined();
          else expect(shortfall).toBe(missing.length > 0 ? "brokers_missing" : "small_cluster");
        },
      ),
    );
  });

  it("reports an outage of one broker of three, not a requested factor of 1", () => {
    expect(replicationShortfall(topicReplication(2), undefined, [3])).toBe("brokers_missing");
    expect(replicationShortfall(topicReplication(1), undefined, [])).toBe("small_cluster");
    expect(replicationShortfall(topicReplication(2, 1), 1, [3])).toBeUndefined();
  });
});
