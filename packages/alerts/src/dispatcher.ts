import { type AlertEvent, alertEventSchema } from "@adpipe/core";
import { backoffDelayMs } from "@adpipe/telemetry";
import type { Pool } from "pg";
import { AlertsError } from "./errors.js";
import { queryConfig } from "./queries.js";
import { alertEventFields, type StoredAlert } from "./stored-alert.js";

/** Sends one channel's alerts; rejects when they were not all accepted (the whole group is retried). */
export interface AlertSenders {
  /** Publishes the events to the topic (acks from all in-sync replicas), keyed by advertiser, event_id header. */
  kafka(topic: string, events: readonly AlertEvent[]): Promise<void>;
  /** POSTs one event to the URL, signed; rejects unless the receiver answered 2xx in time. */
  webhook(url: string, event: AlertEvent): Promise<void>;
}

export interface OutboxDispatcherOptions {
  readonly pool: Pool;
  readonly senders: AlertSenders;
  /** Attempts per delivery before it is dead (default 12: about 2 hours with the default backoff). */
  readonly maxAttempts?: number;
  /** First retry delay (default 1 s), doubling with ±20 % jitter up to maxRetryDelayMs (default 15 min). */
  readonly initialRetryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** Deliveries claimed per pass (default 100). */
  readonly batchSize?: number;
  /** How long a claimed delivery is reserved for its sender (default 60 s; longer than any send's timeout). */
  readonly leaseMs?: number;
  readonly random?: () => number;
}

export interface DispatchReport {
  readonly claimed: number;
  readonly delivered: number;
  readonly retried: number;
  readonly dead: number;
}

interface ClaimedRow extends StoredAlert {
  id: string;
  channel: "kafka" | "webhook";
  destination: string;
  attempts: number;
}

function eventOf(row: ClaimedRow): AlertEvent {
  return alertEventSchema.parse({ schema_version: 1, ...alertEventFields(row) });
}

/** What is recorded of a failure: its message cut short (senders never put secrets in messages). */
function failureText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 500);
}

/**
 * Delivers the outbox: claims due deliveries (SKIP LOCKED, so replicas share the work), sends them, records the
 * outcome. A failed delivery is due again after an exponential, jittered backoff; after maxAttempts it is dead
 * (kept, counted in metrics, listed by GET /v1/alerts with its state).
 */
export class OutboxDispatcher {
  private readonly pool: Pool;
  private readonly senders: AlertSenders;
  private readonly maxAttempts: number;
  private readonly backoff: { initialDelayMs: number; maxDelayMs: number; jitter: number };
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly random: () => number;

  constructor(options: OutboxDispatcherOptions) {
    this.pool = options.pool;
    this.senders = options.senders;
    this.maxAttempts = options.maxAttempts ?? 12;
    this.backoff = {
      initialDelayMs: options.initialRetryDelayMs ?? 1_000,
      maxDelayMs: options.maxRetryDelayMs ?? 900_000,
      jitter: 0.2,
    };
    this.batchSize = options.batchSize ?? 100;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.random = options.random ?? Math.random;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1)
      throw new AlertsError("options_invalid", "maxAttempts must be a positive integer");
  }

  /** The delay before attempt `attempts + 1` (after `attempts` failed ones). */
  retryDelayMs(attempts: number): number {
    return backoffDelayMs(attempts, this.backoff, this.random);
  }

  /** One pass: claims, sends and records up to batchSize due deliveries. */
  async dispatchOnce(): Promise<DispatchReport> {
    const { rows } = await this.pool.query<ClaimedRow>(
      queryConfig("outbox_claim", [this.batchSize, this.leaseMs]),
    );
    if (rows.length === 0) return { claimed: 0, delivered: 0, retried: 0, dead: 0 };
    const outcomes = new Map<string, string | null>();
    const groups = new Map<string, ClaimedRow[]>();
    for (const row of rows) {
      if (row.channel === "kafka") {
        const group = groups.get(row.destination) ?? [];
        group.push(row);
        groups.set(row.destination, group);
      }
    }
    await Promise.all([
      ...[...groups].map(async ([topic, group]) => {
        let error: string | null = null;
        try {
          await this.senders.kafka(topic, group.map(eventOf));
        } catch (caught) {
          error = failureText(caught);
        }
        for (const row of group) outcomes.set(row.id, error);
      }),
      ...rows
        .filter((row) => row.channel === "webhook")
        .map(async (row) => {
          try {
            await this.senders.webhook(row.destination, eventOf(row));
            outcomes.set(row.id, null);
          } catch (caught) {
            outcomes.set(row.id, failureText(caught));
          }
        }),
    ]);
    const delivered = rows.filter((row) => outcomes.get(row.id) === null);
    const failed = rows.filter((row) => outcomes.get(row.id) !== null);
    if (delivered.length > 0)
      await this.pool.query(queryConfig("outbox_delivered", [delivered.map((row) => row.id)]));
    let dead = 0;
    if (failed.length > 0) {
      const isDead = failed.map((row) => row.attempts >= this.maxAttempts);
      dead = isDead.filter(Boolean).length;
      await this.pool.query(
        queryConfig("outbox_failed", [
          failed.map((row) => row.id),
          failed.map((row, i) => (isDead[i] ? 0 : this.retryDelayMs(row.attempts))),
          isDead,
          failed.map((row) => outcomes.get(row.id) ?? "unknown"),
        ]),
      );
    }
    return { claimed: rows.length, delivered: delivered.length, retried: failed.length - dead, dead };
  }

  /** Deliveries waiting and dead, and the age of the oldest waiting one (metrics, readiness). */
  async status(): Promise<{ pending: number; dead: number; oldestPendingMs: number }> {
    const { rows } = await this.pool.query<{ pending: string; dead: string; oldest_pending_ms: string }>(
      queryConfig("outbox_status", []),
    );
    const row = rows[0];
    return {
      pending: Number(row?.pending ?? 0),
      dead: Number(row?.dead ?? 0),
      oldestPendingMs: Number(row?.oldest_pending_ms ?? 0),
    };
  }
}
