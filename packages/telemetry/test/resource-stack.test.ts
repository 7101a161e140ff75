import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { Logger } from "../src/logger.js";
import { ResourceStack } from "../src/resource-stack.js";

/** A logger that keeps the warnings it is given, and fails the test on any other level. */
function warningsLogger(): { logger: Logger; warnings: { fields: object; message: string | undefined }[] } {
  const warnings: { fields: object; message: string | undefined }[] = [];
  const unexpected = (fields: object, message?: string) => {
    throw new Error(`unexpected log line: ${message} ${JSON.stringify(fields)}`);
  };
  return {
    warnings,
    logger: {
      debug: unexpected,
      info: unexpected,
      error: unexpected,
      warn: (fields, message) => warnings.push({ fields, message }),
    },
  };
}

describe("ResourceStack: what a service holds, given back in reverse", () => {
  it("acquires in order and releases in reverse order", async () => {
    const { logger, warnings } = warningsLogger();
    const events: string[] = [];
    const stack = new ResourceStack(logger);
    const pool = await stack.acquire(
      "postgres",
      () => {
        events.push("acquire postgres");
        return { name: "pool" };
      },
      (acquired) => events.push(`release postgres (${acquired.name})`),
    );
    expect(pool).toEqual({ name: "pool" });
    await stack.acquire(
      "ops server",
      async () => {
        await sleep(5);
        events.push("acquire ops server");
      },
      async () => {
        await sleep(5);
        events.push("release ops server");
      },
    );
    stack.defer("timer", () => events.push("release timer"));

    await stack.release();
    expect(events).toEqual([
      "acquire postgres",
      "acquire ops server",
      "release timer",
      "release ops server",
      "release postgres (pool)",
    ]);
    expect(warnings).toEqual([]);
  });

  it("a start failing half-way releases exactly what it acquired, in reverse", async () => {
    const { logger } = warningsLogger();
    const events: string[] = [];
    const stack = new ResourceStack(logger);
    const start = async () => {
      await stack.acquire(
        "redis",
        () => "redis",
        () => events.push("release redis"),
      );
      await stack.acquire(
        "postgres",
        () => "pool",
        () => events.push("release postgres"),
      );
      await stack.acquire(
        "consumer",
        () => Promise.reject(new Error("broker unavailable")),
        () => events.push("release consumer"),
      );
      stack.defer("timer", () => events.push("release timer"));
    };

    const failure = await start().catch(async (error: unknown) => {
      await stack.release();
      return error;
    });
    expect(failure).toEqual(new Error("broker unavailable"));
    expect(events).toEqual(["release postgres", "release redis"]);
  });

  it("a release that fails is reported with its resource's name, and the others still run", async () => {
    const { logger, warnings } = warningsLogger();
    const events: string[] = [];
    const stack = new ResourceStack(logger);
    stack.defer("postgres", () => events.push("release postgres"));
    stack.defer("ops server", () => Promise.reject(new Error("server not running")));
    stack.defer("timer", () => {
      throw new Error("timer gone");
    });

    await expect(stack.release()).resolves.toBeUndefined();
    expect(events).toEqual(["release postgres"]);
    expect(warnings).toEqual([
      { fields: { err: new Error("timer gone"), resource: "timer" }, message: "close failed" },
      { fields: { err: new Error("server not running"), resource: "ops server" }, message: "close failed" },
    ]);
  });

  it("releases once: a second stop, even while the first runs, waits for the same release", async () => {
    const { logger } = warningsLogger();
    let releases = 0;
    const stack = new ResourceStack(logger);
    stack.defer("consumer", async () => {
      await sleep(20);
      releases++;
    });

    const first = stack.release();
    const second = stack.release();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    await stack.release();
    expect(releases).toBe(1);
  });

  it("a resource acquired after the release began is given back at once, and the acquisition fails", async () => {
    const { logger } = warningsLogger();
    const events: string[] = [];
    const stack = new ResourceStack(logger);
    const acquiring = stack.acquire(
      "consumer",
      async () => {
        await sleep(20);
        return "consumer";
      },
      () => events.push("release consumer"),
    );
    await stack.release();

    await expect(acquiring).rejects.toThrow(
      /consumer was acquired after the service's resources were released/,
    );
    expect(events).toEqual(["release consumer"]);
    await expect(
      stack.acquire(
        "redis",
        () => "redis",
        () => undefined,
      ),
    ).rejects.toThrow(/cannot acquire redis: the service's resources were released/);
  });
});

/** A logger that records every line with its level. */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void => {
      lines.push(`${level} ${message ?? ""} ${JSON.stringify(fields)}`);
    };
  return { lines, logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } };
}

describe("ResourceStack: the start and stop every service shares", () => {
  it("stopper releases once however often it is called, then logs that the service stopped", async () => {
    const { logger, lines } = recordingLogger();
    const stack = new ResourceStack(logger);
    let releases = 0;
    stack.defer("consumer", () => {
      releases++;
    });
    const stop = stack.stopper("ingestor");
    await Promise.all([stop(), stop()]);
    await stop();
    expect(releases).toBe(1);
    expect(lines).toEqual(["info ingestor stopped {}"]);
  });

  it("failedStart logs the given (redacted) message, releases what was acquired and rethrows", async () => {
    const { logger, lines } = recordingLogger();
    const stack = new ResourceStack(logger);
    const released: string[] = [];
    stack.defer("postgres", () => released.push("postgres"));
    const cause = new Error("connect ECONNREFUSED postgres://user:secret@db");
    await expect(stack.failedStart("budget-tracker", cause, "connect ECONNREFUSED [redacted]")).rejects.toBe(
      cause,
    );
    expect(released).toEqual(["postgres"]);
    expect(lines).toEqual(['error budget-tracker failed to start {"err":"connect ECONNREFUSED [redacted]"}']);
    expect(lines.join("\n")).not.toContain("secret");
  });

  it("opsServer serves the ops endpoints until the stack is released", async () => {
    const { logger } = recordingLogger();
    const stack = new ResourceStack(logger);
    const server = await stack.opsServer({
      port: 0,
      host: "127.0.0.1",
      registry: new Registry(),
      logger,
      checks: {},
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    await stack.release();
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });
});
