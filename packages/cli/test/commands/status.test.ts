import { describe, expect, test } from "vitest";
import { formatStatus, hasReset, lagOf, type StatusReport } from "../../src/commands/status.js";

describe("lagOf", () => {
  const ends = [
    { partition: 1, high: "500", low: "0" },
    { partition: 0, high: "120", low: "20" },
    { partition: 2, high: "0", low: "0" },
  ];

  test("lag per partition = end - next offset, in partition order, and the total", () => {
    const result = lagOf(
      ends,
      new Map([
        [0, "100"],
        [1, "500"],
        [2, "0"],
      ]),
    );
    expect(result.partitions).toEqual([
      { partition: 0, end: "120", committed: "100", lag: "20" },
      { partition: 1, end: "500", committed: "500", lag: "0" },
      { partition: 2, end: "0", committed: "0", lag: "0" },
    ]);
    expect(result.totalLag).toBe("20");
  });

  test("a partition without a committed offset lags by what the log still holds", () => {
    const result = lagOf(ends, new Map([[0, "-1"]]));
    expect(result.partitions.map((p) => [p.partition, p.committed, p.lag])).toEqual([
      [0, null, "100"],
      [1, null, "500"],
      [2, null, "0"],
    ]);
    expect(result.totalLag).toBe("600");
  });

  test("a committed offset beyond the log end is shown as RESET (the topic was recreated)", () => {
    const result = lagOf([{ partition: 0, high: "255", low: "0" }], new Map([[0, "5259"]]));
    expect(result.partitions[0]).toMatchObject({
      committed: "5259",
      lag: "0",
      reset: "RESET (stored 5259 > end 255)",
    });
  });

  test("offsets beyond 2^53 stay exact", () => {
    const result = lagOf(
      [{ partition: 0, high: "9007199254740995", low: "0" }],
      new Map([[0, "9007199254740993"]]),
    );
    expect(result.totalLag).toBe("2");
  });
});

describe("formatStatus", () => {
  test("prints each group's partitions, the layer counts and Gold freshness", () => {
    const report: StatusReport = {
      topic: "ad-clicks",
      kafka: {
        brokers: ["127.0.0.1:9092"],
        partitions: 2,
        groups: [
          {
            group: "adpipe-ingestor",
            source: "postgres",
            totalLag: "3",
            partitions: [
              { partition: 0, end: "10", committed: "7", lag: "3" },
              { partition: 1, end: "4", committed: "4", lag: "0" },
            ],
          },
        ],
      },
      warehouse: {
        database: "postgres://postgres@127.0.0.1:5432/test",
        estimated: false,
        bronze: 1234,
        silver: 1200,
        duplicates: 30,
        gold: 51,
        goldFreshnessSeconds: 2.25,
        goldNewestEvent: "2026-11-25T21:00:00.000Z",
        goldFutureEvents: null,
        goldLastWriteSecondsAgo: 0.5,
      },
    };
    const text = formatStatus(report);
    expect(text).toContain("Kafka 127.0.0.1:9092, topic ad-clicks (2 partitions)");
    expect(text).toContain(
      "group adpipe-ingestor: lag 3 (committed offsets from Postgres ingest.consumer_offsets)",
    );
    expect(text).toMatch(/ {2}0 +10 +7 +3/);
    expect(text).toContain("bronze 1,234   silver 1,200   duplicates 30   gold 51");
    expect(text).toContain("freshness 2.3 s");
    expect(text).not.toContain("future-dated");
  });

  test("future-dated events are a separate warning, never a negative freshness", () => {
    const text = formatStatus({
      topic: "ad-clicks",
      kafka: { error: "not asked" },
      warehouse: {
        database: "postgres://postgres@127.0.0.1:5432/test",
        estimated: false,
        bronze: 10,
        silver: 10,
        duplicates: 0,
        gold: 3,
        goldFreshnessSeconds: 12.5,
        goldNewestEvent: "2026-11-25T21:00:00.000Z",
        goldFutureEvents: {
          rows: 2,
          advertisers: 1,
          newestEventAt: "2026-11-25T22:01:45.400Z",
          aheadSeconds: 3705.4,
        },
        goldLastWriteSecondsAgo: 0.5,
      },
    });
    expect(text).toContain("freshness 12.5 s");
    expect(text).not.toMatch(/freshness -/);
    expect(text).toContain(
      "WARNING  future-dated events: 2 Gold rows of 1 advertiser, up to 3705.4 s ahead (2026-11-25T22:01:45.400Z)",
    );
  });

  test("a topic reset: RESET in the lag column, the detections, the command; hasReset", () => {
    const report: StatusReport = {
      topic: "ad-clicks",
      kafka: {
        brokers: ["127.0.0.1:9092"],
        partitions: 1,
        groups: [
          {
            group: "adpipe-ingestor",
            source: "postgres",
            totalLag: "0",
            partitions: [
              {
                partition: 0,
                end: "255",
                committed: "5259",
                lag: "0",
                reset: "RESET (stored 5259 > end 255)",
              },
            ],
          },
        ],
      },
      warehouse: { error: "not read" },
      resets: {
        detections: [
          {
            service: "budget-tracker",
            consumer: "adpipe-budget-tracker",
            partition: 0,
            storedOffset: "5259",
            logEndOffset: "255",
            reason: "offset_beyond_log_end",
            detectedAt: "2026-11-25T21:00:00.000Z",
          },
        ],
        unfinished: null,
      },
    };
    const text = formatStatus(report);
    expect(text).toMatch(/ {2}0 +255 +5259 +RESET \(stored 5259 > end 255\)/);
    expect(text).toContain(
      "budget-tracker (adpipe-budget-tracker) partition 0: RESET (stored 5259 > end 255)",
    );
    expect(text).toContain("adpipe offsets reset --topic ad-clicks --to earliest --yes");
    expect(hasReset(report)).toBe(true);
    expect(hasReset({ ...report, resets: { detections: [], unfinished: null }, kafka: { error: "x" } })).toBe(
      false,
    );
  });

  test("says what is unavailable", () => {
    const text = formatStatus({
      topic: "t",
      kafka: { error: "topic t does not exist" },
      warehouse: { error: "no database" },
    });
    expect(text).toContain("Kafka: unavailable (topic t does not exist)");
    expect(text).toContain("Warehouse: unavailable (no database)");
  });
});
