import type { Logger } from "@adpipe/telemetry";
import { type LogEntry, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkajsLogCreator, kafkajsLogFields, transientBrokerState } from "../src/logging.js";

const KEY = "c2VjcmV0LWtleS1pbi1hLWxvZy1saW5lLTEyMzQ1Njc4";
const CONNECTION = `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`;

function entry(level: logLevel, message: string, extra: Record<string, unknown> = {}): LogEntry {
  return {
    namespace: "Connection",
    level,
    label: "ERROR",
    log: { timestamp: "2026-01-01T00:00:00.000Z", message, ...extra },
  };
}

function recorder() {
  const lines: Array<{ level: string; object: object; message: string | undefined }> = [];
  const at =
    (level: string) =>
    (object: object, message?: string): void => {
      lines.push({ level, object, message });
    };
  const logger: Logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
  return { lines, logger };
}

describe("kafkajsLogCreator", () => {
  it("routes each kafkajs level to the matching logger method", () => {
    const { lines, logger } = recorder();
    const log = kafkajsLogCreator(logger)(logLevel.INFO);
    log(entry(logLevel.ERROR, "e"));
    log(entry(logLevel.WARN, "w"));
    log(entry(logLevel.INFO, "i"));
    log(entry(logLevel.DEBUG, "d"));
    expect(lines.map(({ level, message }) => `${level}:${message}`)).toEqual([
      "error:e",
      "warn:w",
      "info:i",
      "debug:d",
    ]);
    expect(lines[0]?.object).toEqual({ kafkajs: "Connection" });
  });

  it("removes secrets from the message and from nested fields", () => {
    const { lines, logger } = recorder();
    kafkajsLogCreator(logger, ["extra-literal-secret"])(logLevel.INFO)(
      entry(logLevel.ERROR, `failed with ${CONNECTION}`, {
        broker: "ns.servicebus.windows.net:9093",
        error: `sasl password ${CONNECTION}`,
        nested: { url: "postgres://u:pw123@db/x", list: ["extra-literal-secret"] },
      }),
    );
    const text = JSON.stringify(lines);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain("pw123");
    expect(text).not.toContain("extra-literal-secret");
    expect(text).toContain("ns.servicebus.windows.net:9093");
  });

  it("drops kafkajs' own timestamp (the logger stamps its own)", () => {
    expect(kafkajsLogFields(entry(logLevel.INFO, "m", { groupId: "g" }))).toEqual({
      fields: { kafkajs: "Connection", groupId: "g" },
      message: "m",
    });
  });
});

describe("expected transient broker states", () => {
  const coordinatorNotAvailable = entry(logLevel.ERROR, "Response GroupCoordinator(key: 10, version: 2)", {
    broker: "127.0.0.1:9092",
    clientId: "adpipe-ingestor",
    error: "The group coordinator is not available",
    correlationId: 2,
    size: 55,
  });

  it("a retried GroupCoordinator error becomes one INFO line without kafkajs' error fields", () => {
    const { lines, logger } = recorder();
    const log = kafkajsLogCreator(logger)(logLevel.INFO);
    for (let i = 0; i < 5; i++) log(coordinatorNotAvailable);
    expect(lines).toEqual([
      {
        level: "info",
        object: { kafkajs: "Connection", broker: "127.0.0.1:9092" },
        message:
          "Kafka: group coordinator not available yet (expected while a broker starts or a group rebalances; kafkajs retries)",
      },
    ]);
  });

  it("is logged again after ten minutes, with the number of repeats in between", () => {
    const { lines, logger } = recorder();
    let now = 0;
    const log = kafkajsLogCreator(logger, [], () => now)(logLevel.INFO);
    log(coordinatorNotAvailable);
    now = 60_000;
    log(coordinatorNotAvailable);
    log(coordinatorNotAvailable);
    now = 11 * 60_000;
    log(coordinatorNotAvailable);
    expect(
      lines.map((l) => [l.level, (l.object as { repeatsSinceLastLine?: number }).repeatsSinceLastLine]),
    ).toEqual([
      ["info", undefined],
      ["info", 2],
    ]);
  });

  it("prints nothing where only warnings and errors are wanted (tests, CLI): no broker error lines", () => {
    const { lines, logger } = recorder();
    const log = kafkajsLogCreator(logger)(logLevel.WARN);
    log(coordinatorNotAvailable);
    log(
      entry(logLevel.ERROR, "Response Metadata(key: 3, version: 6)", {
        error: "There is no leader for this topic-partition as we are in the middle of a leadership election",
      }),
    );
    log({
      namespace: "Runner",
      level: logLevel.ERROR,
      label: "ERROR",
      log: { timestamp: "t", message: "The coordinator is not aware of this member, re-joining the group" },
    });
    expect(lines).toEqual([]);
  });

  it("classifies the broker's transient states, and nothing else", () => {
    const response = (error: string) =>
      transientBrokerState(entry(logLevel.ERROR, "Response JoinGroup(key: 11, version: 5)", { error }));
    expect(response("The coordinator is loading and hence can't process requests for this group")).toBe(
      "group coordinator still loading",
    );
    expect(response("This is not the correct coordinator for this group")).toBe("group coordinator moved");
    expect(response("This server is not the leader for that topic-partition")).toBe("partition leader moved");
    expect(response("The group is rebalancing, so a rejoin is needed")).toBe("group rebalancing");
    // Real problems stay errors: other error responses, crashes and exhausted retries of the same state.
    expect(response("Not authorized to access group")).toBeNull();
    // Unknown topic: expected in a metadata response right after creation, a real problem elsewhere.
    expect(response("This server does not host this topic-partition")).toBeNull();
    expect(
      transientBrokerState(
        entry(logLevel.ERROR, "Response Metadata(key: 3, version: 6)", {
          error: "This server does not host this topic-partition",
        }),
      ),
    ).toBe("new topic not yet known to the broker");
    expect(
      transientBrokerState({
        namespace: "Consumer",
        level: logLevel.ERROR,
        label: "ERROR",
        log: {
          timestamp: "t",
          message: "Crash: KafkaJSNumberOfRetriesExceeded: The group coordinator is not available",
        },
      }),
    ).toBeNull();
  });

  it("real errors keep their level and fields", () => {
    const { lines, logger } = recorder();
    kafkajsLogCreator(logger)(logLevel.WARN)(
      entry(logLevel.ERROR, "Response Produce(key: 0, version: 7)", { error: "Message was too large" }),
    );
    expect(lines).toEqual([
      {
        level: "error",
        object: { kafkajs: "Connection", error: "Message was too large" },
        message: "Response Produce(key: 0, version: 7)",
      },
    ]);
  });
});
