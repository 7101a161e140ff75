import { Writable } from "node:stream";
import { describe, expect, test } from "vitest";
import { createLogger } from "../src/logger.js";

function memoryStream(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe("createLogger", () => {
  test("writes JSON lines with the service name and level label", () => {
    const out = memoryStream();
    const logger = createLogger({ service: "ingestor", destination: out.stream });
    logger.info({ batch: 3 }, "batch committed");
    const [line] = out.lines();
    expect(line).toMatchObject({ service: "ingestor", level: "info", batch: 3, msg: "batch committed" });
  });

  test("redacts password fields by path", () => {
    const out = memoryStream();
    const logger = createLogger({ service: "t", destination: out.stream });
    logger.info({
      sasl: { username: "$ConnectionString", password: "Endpoint=sb://x/;SharedAccessKey=abc" },
    });
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain("SharedAccessKey=abc");
    expect(text).toContain("[redacted]");
  });

  test("scrubs bearer tokens (JWTs) it was not told about, however deep in an error they sit", () => {
    const out = memoryStream();
    const jwt =
      "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJhdWQiOiJodHRwczovL3N0b3JhZ2UuYXp1cmUuY29tIn0.c2lnbmF0dXJlLWJ5dGVzLXh5eg";
    const logger = createLogger({ service: "t", destination: out.stream });
    const cause = Object.assign(new Error("403"), {
      request: { headers: { authorization: `Bearer ${jwt}` } },
    });
    logger.error({ err: new Error("storage refused", { cause }) }, "export pass failed");
    const raw = JSON.stringify(out.lines());
    expect(raw).toContain("export pass failed");
    expect(raw).not.toContain("c2lnbmF0dXJlLWJ5dGVzLXh5eg");
  });

  test("scrubs known secret values wherever they appear, including error messages", () => {
    const out = memoryStream();
    const secret = "s3cr3t-token-value";
    const logger = createLogger({ service: "t", secrets: [secret], destination: out.stream });
    logger.error({ err: new Error(`auth failed for ${secret}`) }, `token ${secret} rejected`);
    const raw = JSON.stringify(out.lines());
    expect(raw).not.toContain(secret);
    expect(raw.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(2);
  });
});
