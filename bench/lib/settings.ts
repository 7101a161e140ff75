import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { RunMode } from "./services.js";

/** Every parameter of a bench run (defaults: the issue's). Recorded in the JSON report. */
export interface BenchSettings {
  /** Seed of core's generator: the same seed gives the same stream (timestamps start at the run's clock). */
  readonly seed: number;
  /** Events pre-loaded for the throughput parts (and read by the consume ceilings). */
  readonly events: number;
  readonly advertisers: number;
  readonly zipf: number;
  readonly partitions: number;
  /** Runs per figure (the report shows their median, min and max). */
  readonly runs: number;
  /** Records per run of the produce, COPY and HINCRBY ceilings (their rates settle long before 1M). */
  readonly ceilingEvents: number;
  readonly freshnessRate: number;
  readonly freshnessSeconds: number;
  readonly freshnessWarmupSeconds: number;
  /** Measured windows of the freshness run (each window is one "run" of the median). */
  readonly freshnessWindows: number;
  /** Offered rates of the mixed part's fixed-rate runs (both paths, `mixedSeconds` measured each). */
  readonly mixedRates: readonly number[];
  readonly mixedSeconds: number;
  /** The mixed part's search for the highest sustained rate: bounds, resolution, measured seconds per step. */
  readonly mixedSearch: boolean;
  readonly mixedSearchMin: number;
  readonly mixedSearchMax: number;
  readonly mixedSearchStep: number;
  readonly mixedSearchSeconds: number;
  readonly lookupSeconds: number;
  readonly lookupAdvertisers: number;
  readonly httpRate: number;
  readonly httpSeconds: number;
  /** Offers per second (each goes to both the observe and the hard_cap ad server). */
  readonly overspendRate: number;
  /** Advertisers of the offered stream (each has an observe twin and a hard_cap twin). */
  readonly overspendAdvertisers: number;
  readonly overspendBudgetMicros: number;
  /** Click costs are uniform in [min, max]; max is what a reservation holds. */
  readonly overspendMinCostMicros: number;
  readonly overspendMaxCostMicros: number;
  /** Offering ends once the offered demand (Σ click costs) is this many times the budgets... */
  readonly overspendDemandFactor: number;
  /** ...and at least this long after the tracker's fault ended (room freed by settlement is used again)... */
  readonly overspendSettleSeconds: number;
  /** ...or after this long in any case (a machine too slow to offer the demand: the report says so). */
  readonly overspendSeconds: number;
  /**
   * The tracker is paused or killed once the offered demand reached this share of the budgets: on any machine,
   * budgets run out while it is away, whatever offer rate the loop achieves.
   */
  readonly overspendFaultAtShare: number;
  readonly overspendPauseSeconds: number;
  /** A served impression's click comes 0–this much later. */
  readonly overspendClickDelayMs: number;
  readonly overspendReservationTtlMs: number;
  /** Pacing part: advertisers with `even` pacing, each with pacingBudgetMicros a day. */
  readonly pacingAdvertisers: number;
  readonly pacingBudgetMicros: number;
  /** Wall seconds one budget day lasts (BUDGET_CLOCK_SCALE = 86,400 / this; test-only clock). */
  readonly pacingDaySeconds: number;
  /** Mean offered impressions per wall second over the day (front-loaded: 2× at the start, 0.5× at the end). */
  readonly pacingRate: number;
  /** Click costs, uniform in [min, max]. */
  readonly pacingMinCostMicros: number;
  readonly pacingMaxCostMicros: number;
  /** PACING_TOLERANCE_PCT of the tracker under test. */
  readonly pacingTolerancePct: number;
  /** CPU-profile one extra (unmeasured) run of the ingestor and the tracker. */
  readonly profile: boolean;
  readonly profileEvents: number;
  readonly kafkaBrokers: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Where `<timestamp>.json` (and profiles) go. */
  readonly resultsDir: string;
  /** Unique tag of this invocation: topics, groups, databases and Redis prefixes include it. */
  readonly tag: string;
  /** Run the services from dist (production processes; the bench builds first) or from source through tsx. */
  readonly mode: RunMode;
  /** Extra environment for the services under test (e.g. INGESTOR_PARTITIONS_CONCURRENTLY=4). */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly quiet: boolean;
}

export const DEFAULT_SETTINGS: Omit<BenchSettings, "tag"> = {
  seed: 42,
  events: 1_000_000,
  advertisers: 5_000,
  zipf: 1.1,
  partitions: 12,
  runs: 3,
  ceilingEvents: 200_000,
  freshnessRate: 20_000,
  freshnessSeconds: 60,
  freshnessWarmupSeconds: 5,
  freshnessWindows: 3,
  mixedRates: [5_000, 10_000],
  mixedSeconds: 120,
  mixedSearch: true,
  mixedSearchMin: 5_000,
  mixedSearchMax: 40_000,
  mixedSearchStep: 1_000,
  mixedSearchSeconds: 30,
  lookupSeconds: 3,
  lookupAdvertisers: 10_000,
  httpRate: 5_000,
  httpSeconds: 5,
  overspendRate: 20_000,
  overspendAdvertisers: 200,
  // 100 offers/s per advertiser at 1.025 units on average: a budget of 1,500 lasts about 15 s at the full rate,
  // and the demand of 2.7× the budgets is offered in about 40 s.
  overspendBudgetMicros: 1_500_000_000,
  overspendMinCostMicros: 50_000,
  overspendMaxCostMicros: 2_000_000,
  overspendDemandFactor: 2.7,
  overspendSettleSeconds: 10,
  overspendSeconds: 300,
  overspendFaultAtShare: 0.9,
  overspendPauseSeconds: 10,
  overspendClickDelayMs: 2_000,
  overspendReservationTtlMs: 10_000,
  // 100 advertisers, a day of 10 minutes, 600 offers/s on average at 1 unit: the day offers each advertiser about
  // 3,600 units, 3.6× its budget of 1,000 (6× the even rate at the start, 1.5× at the end).
  pacingAdvertisers: 100,
  pacingBudgetMicros: 1_000_000_000,
  pacingDaySeconds: 600,
  pacingRate: 600,
  pacingMinCostMicros: 500_000,
  pacingMaxCostMicros: 1_500_000,
  pacingTolerancePct: 5,
  profile: true,
  profileEvents: 150_000,
  kafkaBrokers: process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
  databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  resultsDir: fileURLToPath(new URL("../results/", import.meta.url)),
  mode: "dist",
  serviceEnv: {},
  quiet: false,
};

/** `--quick`: the overspend part scaled down (same shape: budgets run out while the tracker is away). */
export const QUICK_OVERSPEND = {
  overspendAdvertisers: 20,
  overspendRate: 2_000,
  overspendBudgetMicros: 600_000_000,
  overspendSettleSeconds: 5,
  overspendSeconds: 90,
  overspendPauseSeconds: 4,
} as const satisfies Partial<BenchSettings>;

/** `--quick` for the pacing part: 20 advertisers, a day of 2 minutes (same demand shape). */
export const QUICK_PACING = {
  pacingAdvertisers: 20,
  pacingDaySeconds: 120,
  pacingRate: 120,
  pacingBudgetMicros: 200_000_000,
} as const satisfies Partial<BenchSettings>;

export function newTag(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

export function settingsWith(overrides: Partial<BenchSettings> = {}): BenchSettings {
  return { ...DEFAULT_SETTINGS, tag: newTag(), ...overrides };
}
