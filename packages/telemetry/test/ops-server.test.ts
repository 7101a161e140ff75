import { Counter } from "prom-client";
import { afterEach, describe, expect, test } from "vitest";
import { createMetricsRegistry } from "../src/metrics.js";
import { type OpsServer, startOpsServer } from "../src/ops-server.js";

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("startOpsServer", () => {
  test("serves liveness, readiness with per-check detail, and Prometheus metrics", async () => {
    const registry = createMetricsRegistry("test-service");
    const counter = new Counter({ name: "test_events_total", help: "events", registers: [registry] });
    counter.inc(7);
    let postgresUp = true;
    server = await startOpsServer({
      port: 0,
      host: "127.0.0.1",
      registry,
      checks: {
        redis: async () => {},
        postgres: async () => {
          if (!postgresUp) throw new Error("connection refused");
        },
      },
    });
    const base = `http://127.0.0.1:${server.port}`;

    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });

    postgresUp = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({
      status: "not_ready",
      checks: { redis: { ok: true }, postgres: { ok: false, error: "connection refused" } },
    });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('test_events_total{service="test-service"} 7');
    expect(metrics).toContain("process_cpu_seconds_total");

    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  test("a hung readiness check answers 503 after its timeout instead of hanging", async () => {
    server = await startOpsServer({
      port: 0,
      host: "127.0.0.1",
      registry: createMetricsRegistry("t"),
      checkTimeoutMs: 50,
      checks: { kafka: () => new Promise<void>(() => {}) },
    });
    const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      checks: { kafka: { ok: false, error: "timed out after 50 ms" } },
    });
  });
});
