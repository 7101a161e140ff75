import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  EVENT_ID_HEADER,
  OutboxDispatcher,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  webhookSender,
} from "@adpipe/alerts";
import { alertEventSchema } from "@adpipe/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../support/index.js";

// Webhook delivery through the Postgres outbox against a real local HTTP receiver that fails the first
// attempts (HTTP 500, then no answer in time), then accepts: delivered exactly once after retries, with the
// backoff between attempts, the same event_id on every attempt, and a signature that verifies with the secret
// and not with another one.

const SECRET = "whsec-test-0123456789abcdef";
const RETRY_MS = 300;

interface Received {
  readonly atMs: number;
  readonly body: string;
  readonly headers: IncomingMessage["headers"];
}

let database: TestDatabase;
let server: Server;
let url: string;
const received: Received[] = [];
/** What the receiver does with each request, in order; afterwards it answers 204. */
let script: ("500" | "hang" | "ok")[] = [];

beforeAll(async () => {
  database = await createTestDatabase("alerts-webhook", { poolMax: 3 });
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        atMs: Date.now(),
        body: Buffer.concat(chunks).toString("utf8"),
        headers: request.headers,
      });
      const step = script.shift() ?? "ok";
      if (step === "hang") return; // never answers: the sender's timeout must give up
      response.writeHead(step === "500" ? 500 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/budget`;
}, 60_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  await database?.drop();
});

/** Fires one alert with one webhook delivery, as the evaluator's alerts_fire statement would. */
async function fireOne(advertiserId: string, destination: string): Promise<string> {
  const { rows } = await database.pool.query<{ event_id: string }>(
    `INSERT INTO alerts.fired (advertiser_id, advertiser, period_id, period_start, period_end, kind, threshold_pct,
                               period_net_micros, budget_micros)
     VALUES ($1, 'Advertiser', '2026-12-05', '2026-12-05T00:00:00Z', '2026-12-06T00:00:00Z', 'budget_threshold', 80,
             80000000, 100000000)
     RETURNING event_id::text`,
    [advertiserId],
  );
  const eventId = rows[0]?.event_id as string;
  await database.pool.query(
    `INSERT INTO alerts.outbox (event_id, channel, destination) VALUES ($1, 'webhook', $2)`,
    [eventId, destination],
  );
  return eventId;
}

async function outboxRow(
  eventId: string,
): Promise<{ state: string; attempts: number; last_error: string | null }> {
  const { rows } = await database.pool.query<{ state: string; attempts: number; last_error: string | null }>(
    "SELECT state, attempts, last_error FROM alerts.outbox WHERE event_id = $1",
    [eventId],
  );
  return rows[0] as { state: string; attempts: number; last_error: string | null };
}

/** Runs dispatch passes until the delivery leaves pending (or the deadline passes). */
async function dispatchUntilSettled(dispatcher: OutboxDispatcher, eventId: string, deadlineMs: number) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    await dispatcher.dispatchOnce();
    if ((await outboxRow(eventId)).state !== "pending") return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("webhook delivery through the outbox", () => {
  it("retries a failing receiver with exponential backoff and delivers exactly once, signed", async () => {
    received.length = 0;
    script = ["500", "500", "hang", "ok"];
    const eventId = await fireOne("adv-webhook", url);
    const dispatcher = new OutboxDispatcher({
      pool: database.pool,
      senders: {
        kafka: () => Promise.reject(new Error("no Kafka in this test")),
        webhook: webhookSender({ secret: SECRET, timeoutMs: 400 }),
      },
      initialRetryDelayMs: RETRY_MS,
      maxRetryDelayMs: 10_000,
      maxAttempts: 6,
    });
    await dispatchUntilSettled(dispatcher, eventId, 30_000);

    expect(await outboxRow(eventId)).toEqual({ state: "delivered", attempts: 4, last_error: null });
    expect(received).toHaveLength(4);
    // One alert, one event: every attempt carries the same event id and body.
    expect(new Set(received.map((r) => r.headers[EVENT_ID_HEADER]))).toEqual(new Set([eventId]));
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    const event = alertEventSchema.parse(JSON.parse(received[3]?.body ?? ""));
    expect(event).toMatchObject({ event_id: eventId, advertiser_id: "adv-webhook", threshold_pct: 80 });

    // Backoff: the gaps before attempts 2, 3 and 4 are about RETRY_MS × 1, 2, 4 (±20 % jitter; attempt 3's
    // timeout of 400 ms adds to the gap before attempt 4).
    const gaps = received.slice(1).map((r, i) => r.atMs - (received[i] as Received).atMs);
    expect(gaps[0]).toBeGreaterThanOrEqual(RETRY_MS * 0.8 - 5);
    expect(gaps[1]).toBeGreaterThanOrEqual(RETRY_MS * 2 * 0.8 - 5);
    expect(gaps[2]).toBeGreaterThanOrEqual(400 + RETRY_MS * 4 * 0.8 - 5);
    expect(gaps[1]).toBeGreaterThan(gaps[0] as number);

    // Signature: verifies with the secret over the raw body and timestamp; fails with another secret.
    for (const request of received) {
      const signed = {
        body: request.body,
        signature: request.headers[SIGNATURE_HEADER] as string,
        timestamp: request.headers[TIMESTAMP_HEADER] as string,
      };
      expect(signed.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifyWebhookSignature({ ...signed, secret: SECRET })).toBe(true);
      expect(verifyWebhookSignature({ ...signed, secret: "whsec-wrong-0123456789abcdef" })).toBe(false);
      expect(verifyWebhookSignature({ ...signed, secret: SECRET, body: `${request.body} ` })).toBe(false);
    }

    // Delivered: further passes send nothing more.
    await dispatcher.dispatchOnce();
    expect(received).toHaveLength(4);
  }, 60_000);

  it("gives up after the last attempt: the delivery is dead, with the receiver's answer recorded", async () => {
    received.length = 0;
    script = ["500", "500", "500", "500"];
    const eventId = await fireOne("adv-dead", url);
    const dispatcher = new OutboxDispatcher({
      pool: database.pool,
      senders: {
        kafka: () => Promise.reject(new Error("no Kafka in this test")),
        webhook: webhookSender({ secret: SECRET, timeoutMs: 1_000 }),
      },
      initialRetryDelayMs: 50,
      maxAttempts: 3,
    });
    await dispatchUntilSettled(dispatcher, eventId, 20_000);
    const row = await outboxRow(eventId);
    expect(row.state).toBe("dead");
    expect(row.attempts).toBe(3);
    expect(row.last_error).toContain("HTTP 500");
    expect(received).toHaveLength(3);
    expect((await dispatcher.status()).dead).toBe(1);
  }, 60_000);

  it("two dispatchers on one outbox send each delivery once (SKIP LOCKED claims)", async () => {
    received.length = 0;
    script = [];
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => fireOne(`adv-replica-${i}`, url)));
    const make = () =>
      new OutboxDispatcher({
        pool: database.pool,
        senders: {
          kafka: () => Promise.reject(new Error("no Kafka in this test")),
          webhook: webhookSender({ secret: SECRET }),
        },
        batchSize: 3,
      });
    const a = make();
    const b = make();
    for (let pass = 0; pass < 20; pass++) await Promise.all([a.dispatchOnce(), b.dispatchOnce()]);
    const got = received.map((r) => r.headers[EVENT_ID_HEADER]);
    expect(got.length).toBe(ids.length);
    expect(new Set(got)).toEqual(new Set(ids));
  }, 60_000);
});
