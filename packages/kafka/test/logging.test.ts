import { type LogEntry, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkajsLogCreator, kafkajsLogFields, type LoggerLike } from "../src/logging.js";

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
  const logger: LoggerLike = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
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
