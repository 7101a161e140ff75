import { setTimeout as sleep } from "node:timers/promises";
import type { ServingState } from "@adpipe/serving-client";
import type { PrefixStates } from "./prefix-states.js";
import type { ProbeStats } from "./serving-probe.js";
import { NEVER_SEEN, noteFailure } from "./serving-probe.js";

interface ServingResult {
  advertiser_id: string;
  known: boolean;
  can_serve: boolean;
  period: string | null;
  net_micros: number | null;
  gross_micros: number | null;
  budget_micros: number | null;
  budget_source: ServingState["budgetSource"];
  clicks: number | null;
  mode: ServingState["mode"] | null;
  over_cap_micros: number | null;
  budget_period?: string | null;
  time_zone?: string | null;
  pacing?: ServingState["pacing"] | null;
  serve_fraction?: number | null;
  traffic_shape?: number[] | null;
  reason: ServingState["reason"];
  updated_at: string | null;
}

/**
 * An ad server asking the API (`POST /v1/serving:batch`, SERVE_WHEN_UNKNOWN false) for every advertiser: a 200
 * must carry only states the advertiser went through (or unknown with can_serve false), a failure must be a
 * 503 dependency_unavailable — never a 5xx of another kind or a wrong answer.
 */
export class ApiServingProbe {
  readonly stats: ProbeStats = {
    rounds: 0,
    answered: 0,
    unknown: 0,
    errors: 0,
    wrong: [],
    firstErrorAtMs: null,
    lastErrorAtMs: null,
    slowestRoundMs: 0,
    failures: {},
  };
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly advertiserIds: readonly string[],
    private readonly valid: PrefixStates,
  ) {}

  start(everyMs = 250): this {
    this.timer = setInterval(() => void this.round(), everyMs);
    return this;
  }

  /** Requests back to back for `ms`. */
  async burst(ms: number): Promise<number> {
    const until = Date.now() + ms;
    let rounds = 0;
    while (Date.now() < until) {
      while (this.busy) await new Promise((resolve) => setImmediate(resolve));
      await this.round();
      rounds += 1;
      // A round answered from a local cache, or failed before any I/O, completes in microtasks: without
      // this the loop would starve the event loop (and every child process' pipe) for the whole burst.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return rounds;
  }

  private async round(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const ids = [...this.advertiserIds, NEVER_SEEN];
    this.stats.rounds += 1;
    const startedAtMs = Date.now();
    try {
      let status: number;
      let text: string;
      try {
        const response = await fetch(`${this.baseUrl}/v1/serving:batch`, {
          method: "POST",
          headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
          body: JSON.stringify({ ids }),
          signal: AbortSignal.timeout(5_000),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        this.wrong(`request failed without an HTTP answer: ${String(error)}`);
        return;
      }
      if (status === 503 && text.includes("dependency_unavailable")) {
        const now = Date.now();
        noteFailure(this.stats, "503 dependency_unavailable");
        this.stats.errors += ids.length;
        this.stats.firstErrorAtMs ??= now;
        this.stats.lastErrorAtMs = now;
        return;
      }
      if (status !== 200) {
        this.wrong(`HTTP ${status}: ${text.slice(0, 200)}`);
        return;
      }
      const { results } = JSON.parse(text) as { results: ServingResult[] };
      for (const result of results) this.judge(result);
    } finally {
      this.stats.slowestRoundMs = Math.max(this.stats.slowestRoundMs, Date.now() - startedAtMs);
      this.busy = false;
    }
  }

  private judge(result: ServingResult): void {
    this.stats.answered += 1;
    if (!result.known) {
      if (result.advertiser_id !== NEVER_SEEN) this.stats.unknown += 1;
      if (result.can_serve !== false)
        this.wrong(`${result.advertiser_id}: unknown but can_serve ${String(result.can_serve)}`);
      return;
    }
    if (result.advertiser_id === NEVER_SEEN) {
      this.wrong("the never-seen advertiser is known");
      return;
    }
    const state: ServingState = {
      advertiserId: result.advertiser_id,
      canServe: result.can_serve,
      reason: result.reason,
      period: result.period ?? "",
      netMicros: result.net_micros ?? Number.NaN,
      grossMicros: result.gross_micros ?? Number.NaN,
      budgetMicros: result.budget_micros,
      budgetSource: result.budget_source,
      clicks: result.clicks ?? Number.NaN,
      mode: result.mode ?? "observe",
      overCapMicros: result.over_cap_micros ?? 0,
      // The decision is judged, not the forecast.
      forecastExhaustedAtMs: null,
      forecastPeriodSpendMicros: null,
      budgetPeriod: result.budget_period ?? null,
      timeZone: result.time_zone ?? null,
      pacing: result.pacing ?? "asap",
      serveFraction: result.serve_fraction ?? (result.can_serve ? 1 : 0),
      trafficShape: result.traffic_shape ?? null,
      updatedAtMs: result.updated_at === null ? 0 : Date.parse(result.updated_at),
    };
    const problem = this.valid.check(state);
    if (problem !== null) this.wrong(`api: ${problem}`);
  }

  private wrong(problem: string): void {
    if (this.stats.wrong.length < 50) this.stats.wrong.push(problem);
  }

  async stop(): Promise<ProbeStats> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    while (this.busy) await sleep(20);
    return this.stats;
  }
}
