import { parseEvent } from "@adpipe/core";
import { advertiserKey } from "@adpipe/serving-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { register as registerBudget } from "../../../packages/cli/src/commands/budget.js";
import { buildProgram, runProgram } from "../../../packages/cli/src/program.js";
import { type ApiBench, call, READ_TOKEN, startApiBench, WRITE_TOKEN } from "./harness.js";
import { TopicReader } from "./topic-reader.js";

const savedEnv = { ...process.env };

/** Runs `adpipe budget ...` in-process; returns the exit code, stdout lines and stderr (commander + failures). */
async function adpipe(args: string[], env: Record<string, string | undefined>) {
  process.env = { ...savedEnv, ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete process.env[name];
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...parts: unknown[]) => out.push(parts.join(" "));
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runProgram(buildProgram([registerBudget]), [
      "node",
      "adpipe",
      "budget",
      ...args,
    ]).catch((error: unknown) => {
      err.push(error instanceof Error ? error.message : String(error));
      return (error as { exitCode?: number }).exitCode ?? 70;
    });
    return { code, out: out.join("\n"), err: err.join("") };
  } finally {
    console.log = log;
    process.stderr.write = write;
    process.env = { ...savedEnv };
  }
}

describe("adpipe budget (through the HTTP API)", () => {
  let bench: ApiBench;
  let reader: TopicReader;
  let env: Record<string, string>;

  beforeAll(async () => {
    bench = await startApiBench("cli-budget");
    reader = await TopicReader.start(bench.topic.kafka, bench.topic.topic);
    env = { ADPIPE_API_URL: bench.baseUrl, ADPIPE_API_TOKEN: WRITE_TOKEN };
  });
  afterEach(() => {
    process.env = { ...savedEnv };
  });
  afterAll(async () => {
    await reader?.stop();
    await bench?.close();
  });

  it("sets --period and --time-zone: published, audited and shown", async () => {
    const run = await adpipe(
      ["set", "cli-zoned", "12", "--period", "month", "--time-zone", "Europe/Berlin"],
      env,
    );
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^cli-zoned: budget 12\.000000 per month/);
    expect(run.out).toContain("budget period month (was unknown)");
    expect(run.out).toContain("time zone Europe/Berlin (was unknown)");
    const eventId = /published (budget-[0-9a-f-]+)/.exec(run.out)?.[1];
    const record = await reader.waitFor((r) => r.value.includes(eventId!));
    expect(JSON.parse(record.value)).toMatchObject({ budget_period: "month", time_zone: "Europe/Berlin" });
    const show = await adpipe(["show", "cli-zoned"], env);
    expect(show.code).toBe(0);
    expect(show.out).toContain("period unknown -> month zone unknown -> Europe/Berlin");

    const bad = await adpipe(["set", "cli-zoned", "12", "--time-zone", "Mars/Olympus"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/time_zone/);
    const badPeriod = await adpipe(["set", "cli-zoned", "12", "--period", "week"], env);
    expect(badPeriod.code).not.toBe(0);
  });

  it("sets a budget with --mode: published with budget_mode, audited with the caller and the mode", async () => {
    const run = await adpipe(["set", "cli-adv", "42.5", "--mode", "hard_cap", "--advertiser", "CLI Co"], env);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^cli-adv: budget 42\.500000 per day \(was none\)/);
    expect(run.out).toContain("mode hard_cap (was unknown)");
    const eventId = /published (budget-[0-9a-f-]+)/.exec(run.out)?.[1];
    expect(eventId).toBeDefined();
    const record = await reader.waitFor((r) => r.value.includes(eventId!));
    expect(JSON.parse(record.value)).toMatchObject({
      advertiser_id: "cli-adv",
      advertiser: "CLI Co",
      budget_value: 42.5,
      budget_source: "api",
      budget_mode: "hard_cap",
    });
    expect(parseEvent(record.value, { referenceTimeMs: record.timestampMs })).toMatchObject({
      isValid: true,
      budgetMicros: 42_500_000,
      budgetMode: "hard_cap",
    });

    const audit = await call<{ items: Record<string, unknown>[] }>(
      bench.baseUrl,
      "GET",
      "/v1/advertisers/cli-adv/budget/audit",
      { token: READ_TOKEN },
    );
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        action: "set_budget",
        new_budget_micros: 42_500_000,
        new_mode: "hard_cap",
        actor: "alice",
        source: "adpipe-cli",
        event_id: eventId,
      }),
    ]);
  });

  it("sets a budget without --mode: the event carries no budget_mode", async () => {
    const run = await adpipe(["set", "cli-plain", "7", "--json"], env);
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.out) as { event_id: string; new_mode: string | null };
    expect(answer.new_mode).toBeNull();
    const record = await reader.waitFor((r) => r.value.includes(answer.event_id));
    expect(JSON.parse(record.value)).not.toHaveProperty("budget_mode");
  });

  it("shows the serving state with the mode and over-cap spend, and the audit trail", async () => {
    // The tracker's hash once it applied the change and billed past the cap (as apply_slice.lua writes it).
    await bench.redis.hset(advertiserKey("cli-adv", bench.prefix), {
      can_serve: "0",
      reason: "budget_exhausted",
      period: "2026-11-25",
      net_micros: "42500000",
      gross_micros: "45000000",
      budget_micros: "42500000",
      clicks: "90",
      updated_at: String(Date.UTC(2026, 10, 25, 12)),
      budget_source: "api",
      mode: "hard_cap",
      over_cap_micros: "2500000",
    });
    const run = await adpipe(["show", "cli-adv"], { ...env, ADPIPE_API_TOKEN: READ_TOKEN });
    expect(run.code).toBe(0);
    expect(run.out.split("\n")).toEqual([
      "cli-adv: not serving (budget_exhausted), period 2026-11-25",
      "  budget 42.500000 (source api), mode hard_cap",
      "  net 42.500000, gross 45.000000, over cap 2.500000, clicks 90",
      "  updated 2026-11-25T12:00:00.000Z",
      "audit (newest first):",
      expect.stringMatching(
        /^ {2}\d+ \S+ set_budget none -> 42\.500000 mode unknown -> hard_cap by alice \(adpipe-cli\)$/,
      ),
    ]);
    const json = await adpipe(["show", "cli-adv", "--json", "--audit", "0"], env);
    expect(JSON.parse(json.out)).toMatchObject({
      serving: { mode: "hard_cap", over_cap_micros: 2_500_000 },
      audit: [],
    });
  });

  it("refuses a bad mode or amount before asking the API (exit 2), and says what is allowed", async () => {
    const mode = await adpipe(["set", "cli-bad", "5", "--mode", "soft"], env);
    expect(mode.code).toBe(2);
    expect(mode.err).toMatch(/Allowed choices are observe, hard_cap/);
    const amount = await adpipe(["set", "cli-bad", "5.0000001"], env);
    expect(amount.code).toBe(2);
    expect(amount.err).toMatch(/at most 6 decimals/);
    const negative = await adpipe(["set", "cli-bad", "-5"], env);
    expect(negative.code).toBe(2);
    const missing = await adpipe(["set", "cli-bad", "--mode", "hard_cap"], env);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/missing required argument 'amount'/);
    const audit = await call<{ items: unknown[] }>(
      bench.baseUrl,
      "GET",
      "/v1/advertisers/cli-bad/budget/audit",
      {
        token: READ_TOKEN,
      },
    );
    expect(audit.body.items).toEqual([]);
  });

  it("reports configuration, token and availability problems with exit codes and what to do", async () => {
    const noUrl = await adpipe(["set", "cli-x", "5"], {
      ADPIPE_API_URL: undefined,
      ADPIPE_API_TOKEN: WRITE_TOKEN,
    });
    expect(noUrl.code).toBe(2);
    expect(noUrl.err).toMatch(/ADPIPE_API_URL is not set/);
    const noToken = await adpipe(["set", "cli-x", "5"], { ...env, ADPIPE_API_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.err).toMatch(/ADPIPE_API_TOKEN is not set/);
    const readToken = await adpipe(["set", "cli-x", "5", "--mode", "observe"], {
      ...env,
      ADPIPE_API_TOKEN: READ_TOKEN,
    });
    expect(readToken.code).toBe(2);
    expect(readToken.err).toMatch(/write token/);
    expect(readToken.err).not.toContain(READ_TOKEN);
    // Nothing listens on port 1.
    const down = await adpipe(["set", "cli-x", "5"], { ...env, ADPIPE_API_URL: "http://127.0.0.1:1" });
    expect(down.code).toBe(69);
    expect(down.err).toMatch(/the API at http:\/\/127\.0\.0\.1:1 is unavailable/);
    expect(down.err).not.toContain(WRITE_TOKEN);
  });
});
