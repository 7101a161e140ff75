import { parseEvent } from "@adpipe/core";
import { afterAll, beforeAll } from "vitest";
import {
  type ApiBench,
  call,
  createTrackerState,
  READ_TOKEN,
  startApiBench,
  WRITE_TOKEN,
} from "./harness.js";
import { TopicReader } from "./topic-reader.js";

export interface ErrorBody {
  error: { code: string; message: string; details?: { path: string[]; message: string }[] };
}

/** What a budget-API suite works with, set by its beforeAll. */
export interface BudgetApiContext {
  bench: ApiBench;
  reader: TopicReader;
}

/**
 * Registers the set-up of a PUT /v1/advertisers/{id}/budget suite (API bench, topic reader, the budget-tracker's
 * state as the tracker creates it on first start) and returns the suite's calls. Call inside a describe.
 */
export function useBudgetApi<Body, AuditItem>(name: string) {
  const ctx = {} as BudgetApiContext;
  beforeAll(async () => {
    ctx.bench = await startApiBench(name);
    ctx.reader = await TopicReader.start(ctx.bench.topic.kafka, ctx.bench.topic.topic);
    await createTrackerState(ctx.bench);
  });
  afterAll(async () => {
    await ctx.reader?.stop();
    await ctx.bench?.close();
  });

  /** token null: anonymous. */
  const put = (id: string, body: unknown, token: string | null = WRITE_TOKEN) =>
    call<Body & ErrorBody>(ctx.bench.baseUrl, "PUT", `/v1/advertisers/${encodeURIComponent(id)}/budget`, {
      body,
      ...(token === null ? {} : { token }),
    });
  const audit = async (id: string) =>
    (
      await call<{ items: AuditItem[] }>(
        ctx.bench.baseUrl,
        "GET",
        `/v1/advertisers/${encodeURIComponent(id)}/budget/audit`,
        { token: READ_TOKEN },
      )
    ).body.items;
  const published = async (eventId: string) => {
    const record = await ctx.reader.waitFor((r) => r.value.includes(eventId));
    return {
      event: JSON.parse(record.value) as Record<string, unknown>,
      parsed: parseEvent(record.value, { referenceTimeMs: record.timestampMs }),
    };
  };
  return { ctx, put, audit, published };
}
