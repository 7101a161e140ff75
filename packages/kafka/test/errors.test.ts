import { describe, expect, it } from "vitest";
import { isAuthenticationError, KAFKA_ERROR_CODES, KafkaError } from "../src/errors.js";

class FakeKafkaJsError extends Error {
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

describe("KafkaError", () => {
  it("carries a code from the tuple and a cause", () => {
    const cause = new Error("root");
    const error = new KafkaError("topic_missing", "no hub", { cause });
    expect(error).toMatchObject({
      name: "KafkaError",
      code: "ADP_KAFKA_TOPIC_MISSING",
      message: "no hub",
      cause,
    });
    expect(KafkaError.codes).toContain(error.code);
    expect(KafkaError.codes).toHaveLength(KAFKA_ERROR_CODES.length);
  });
});

describe("isAuthenticationError", () => {
  it("recognises kafkajs' SASL failure anywhere in the cause chain", () => {
    const sasl = new FakeKafkaJsError("KafkaJSSASLAuthenticationError", "SASL PLAIN authentication failed");
    expect(isAuthenticationError(sasl)).toBe(true);
    expect(
      isAuthenticationError(new FakeKafkaJsError("KafkaJSNumberOfRetriesExceeded", "x", { cause: sasl })),
    ).toBe(true);
    expect(isAuthenticationError(new KafkaError("authentication_failed", "nope"))).toBe(true);
  });

  it("is false for other failures and non-errors", () => {
    expect(isAuthenticationError(new FakeKafkaJsError("KafkaJSConnectionError", "Connection timeout"))).toBe(
      false,
    );
    expect(isAuthenticationError("KafkaJSSASLAuthenticationError")).toBe(false);
    expect(isAuthenticationError(undefined)).toBe(false);
  });
});
