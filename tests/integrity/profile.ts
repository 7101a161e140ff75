import { availableParallelism } from "node:os";

/**
 * Sizes of the integrity suite. INTEGRITY_PROFILE=full (the default of `npm run test:integrity`) or ci
 * (`.ci/run`): ci keeps every scenario and every figure the issue asks for (≥ 200,000 events and ≥ 10
 * SIGKILLs per service in scenario 1, a ≥ 20 s Postgres outage, ≥ 10,000 hostile payloads) and only runs the
 * sustained load for 2 minutes instead of 10, and the cluster scenarios (11, 12: the same faults) on shorter
 * streams, about 4 minutes for both together. `smoke` is for developing the suite only: every scenario on
 * small numbers (far below the acceptance figures), a few minutes in all.
 */
export type ProfileName = "ci" | "full" | "smoke";

export interface IntegrityProfile {
  readonly name: ProfileName;
  /** Seed of every generated stream, fuzzed payload and fault schedule (INTEGRITY_SEED). */
  readonly seed: number;
  readonly crashes: {
    readonly events: number;
    readonly advertisers: number;
    readonly partitions: number;
    /** SIGKILLs per service (ingestor, budget-tracker), rebalance kills included. */
    readonly killsPerService: number;
    /** Of those, kills while the group rebalances because a replica joins or leaves. */
    readonly rebalanceKillsPerService: number;
    readonly ratePerSecond: number;
  };
  readonly postgresOutage: {
    readonly events: number;
    readonly ratePerSecond: number;
    /** Connections frozen (held, nothing forwarded), then cut and refused: together ≥ 20 s. */
    readonly freezeMs: number;
    readonly refuseMs: number;
  };
  readonly redisOutage: {
    readonly events: number;
    readonly ratePerSecond: number;
    /**
     * Each restart: redis-server SIGKILLed, down `downMs`, started again empty (no persistence). With
     * `trackerStoppedMs` > 0 the tracker is also frozen (SIGSTOP, like a long GC pause) from the kill until
     * that long after Redis is back, so ad servers certainly meet the empty Redis before the rebuild.
     */
    readonly restarts: readonly { readonly downMs: number; readonly trackerStoppedMs: number }[];
  };
  readonly brokerRestart: {
    readonly events: number;
    readonly ratePerSecond: number;
    /** One graceful stop (SIGTERM) and one crash (SIGKILL), each followed by this much downtime. */
    readonly downMs: number;
  };
  readonly poison: {
    readonly goodEvents: number;
    /** fast-check generated hostile payloads (the hand-written corpus comes on top). */
    readonly fuzzedPayloads: number;
  };
  readonly sustained: {
    readonly durationMs: number;
    readonly ratePerSecond: number;
    readonly sampleEveryMs: number;
  };
  readonly security: {
    readonly events: number;
  };
  readonly httpFuzz: {
    /** fast-check generated HTTP requests against the running API (scenario 8). */
    readonly requests: number;
  };
  readonly hardCap: {
    /** Advertisers of the offered stream; each has a hard_cap twin (reservations) and an observe twin. */
    readonly advertisers: number;
    /** Offers per second, each to both ad servers; demand over the run is well above the budgets. */
    readonly offersPerSecond: number;
    readonly durationMs: number;
    /** Tracker SIGKILLs (each restarted at once) and SIGSTOP freezes of `pauseMs`, spread over the offering. */
    readonly kills: number;
    readonly pauses: number;
    readonly pauseMs: number;
    /** How often `net + reserved <= budget` is read for every hard_cap advertiser (one MULTI). */
    readonly sampleEveryMs: number;
  };
  readonly redisCluster: {
    /** Stream on a private Redis Cluster: a master SIGKILLed at 1/3, some advertisers' slots resharded at 2/3. */
    readonly events: number;
    readonly ratePerSecond: number;
    readonly advertisers: number;
    /** Advertisers whose slots `redis-cli --cluster reshard` moves to another master (with their keys). */
    readonly reshardAdvertisers: number;
  };
  readonly kafkaCluster: {
    /** Stream on a private three-broker cluster (RF 3, min ISR 2): the broker leading most partitions SIGKILLed. */
    readonly events: number;
    readonly ratePerSecond: number;
    readonly partitions: number;
    /** How long the killed broker stays down before it is started again. */
    readonly downMs: number;
  };
  readonly topicReset: {
    /** Records of the first log (consumed before the topic is deleted) and of the recreated one. */
    readonly eventsBefore: number;
    readonly eventsAfter: number;
    readonly ratePerSecond: number;
    readonly partitions: number;
  };
  readonly scale: {
    /** Partitions of the topic: the ceiling of useful replicas per consumer group. */
    readonly partitions: number;
    readonly advertisers: number;
    /** Replicas of each consumer at the peak (1 → replicas → 1). */
    readonly replicas: number;
    /** Paced records before the first measurement (one replica each warms up). */
    readonly warmUpEvents: number;
    /**
     * Unmeasured backlog per replica drained before the first two measurements: a replica that just started
     * spends several times the CPU per record until V8 has compiled its hot paths.
     */
    readonly warmUpBurstPerReplica: number;
    /** Each of the three backlogs drained for the CPU measurement (1, `replicas`, 1 replica each). */
    readonly burstEvents: number;
    /** Paced records produced while the groups scale out, and again while they scale in. */
    readonly transitionEvents: number;
    readonly pacedRatePerSecond: number;
    /** Largest relative difference of records per CPU-second per replica, 3 replicas vs 1. */
    readonly cpuTolerance: number;
  };
}

const common = {
  crashes: {
    events: 200_000,
    advertisers: 60,
    partitions: 4,
    killsPerService: 10,
    rebalanceKillsPerService: 2,
    ratePerSecond: 1_000,
  },
  postgresOutage: { events: 40_000, ratePerSecond: 600, freezeMs: 10_000, refuseMs: 15_000 },
  redisOutage: {
    events: 40_000,
    ratePerSecond: 600,
    restarts: [
      { downMs: 4_000, trackerStoppedMs: 0 },
      { downMs: 500, trackerStoppedMs: 0 },
      { downMs: 1_000, trackerStoppedMs: 2_000 },
    ],
  },
  brokerRestart: { events: 40_000, ratePerSecond: 600, downMs: 8_000 },
  poison: { goodEvents: 20_000, fuzzedPayloads: 10_000 },
  security: { events: 5_000 },
  httpFuzz: { requests: 20_000 },
  topicReset: { eventsBefore: 20_000, eventsAfter: 20_000, ratePerSecond: 600, partitions: 4 },
  // 5,000 + (1 + 3) × 20,000 + 3 × 25,000 + 2 × 20,000 = 200,000 records. Before its measurement the single
  // replica has consumed 25,000 records, each newcomer about 20,000 + 20,000 / 3.
  scale: {
    partitions: 12,
    advertisers: 240,
    replicas: 3,
    warmUpEvents: 5_000,
    warmUpBurstPerReplica: 20_000,
    burstEvents: 25_000,
    transitionEvents: 20_000,
    pacedRatePerSecond: 600,
    cpuTolerance: 0.15,
  },
  hardCap: {
    advertisers: 30,
    offersPerSecond: 600,
    durationMs: 90_000,
    kills: 3,
    pauses: 3,
    pauseMs: 5_000,
    sampleEveryMs: 200,
  },
  redisCluster: { events: 30_000, ratePerSecond: 600, advertisers: 40, reshardAdvertisers: 4 },
  kafkaCluster: { events: 24_000, ratePerSecond: 600, partitions: 4, downMs: 8_000 },
} as const;

const PROFILES: Record<ProfileName, Omit<IntegrityProfile, "seed">> = {
  full: {
    name: "full",
    ...common,
    sustained: { durationMs: 600_000, ratePerSecond: 400, sampleEveryMs: 5_000 },
    redisCluster: { events: 90_000, ratePerSecond: 600, advertisers: 60, reshardAdvertisers: 8 },
    kafkaCluster: { events: 90_000, ratePerSecond: 600, partitions: 4, downMs: 20_000 },
  },
  ci: { name: "ci", ...common, sustained: { durationMs: 120_000, ratePerSecond: 400, sampleEveryMs: 5_000 } },
  smoke: {
    name: "smoke",
    crashes: {
      ...common.crashes,
      events: 12_000,
      killsPerService: 3,
      rebalanceKillsPerService: 1,
      ratePerSecond: 400,
    },
    postgresOutage: { events: 8_000, ratePerSecond: 400, freezeMs: 4_000, refuseMs: 4_000 },
    redisOutage: {
      events: 8_000,
      ratePerSecond: 400,
      restarts: [
        { downMs: 2_000, trackerStoppedMs: 0 },
        { downMs: 500, trackerStoppedMs: 1_500 },
      ],
    },
    brokerRestart: { events: 8_000, ratePerSecond: 400, downMs: 3_000 },
    poison: { goodEvents: 3_000, fuzzedPayloads: 1_000 },
    sustained: { durationMs: 30_000, ratePerSecond: 200, sampleEveryMs: 2_000 },
    security: { events: 1_000 },
    httpFuzz: { requests: 2_000 },
    topicReset: { eventsBefore: 3_000, eventsAfter: 3_000, ratePerSecond: 400, partitions: 4 },
    scale: {
      ...common.scale,
      warmUpEvents: 2_000,
      warmUpBurstPerReplica: 4_000,
      burstEvents: 10_000,
      transitionEvents: 6_000,
    },
    hardCap: {
      advertisers: 10,
      offersPerSecond: 300,
      durationMs: 30_000,
      kills: 1,
      pauses: 1,
      pauseMs: 3_000,
      sampleEveryMs: 200,
    },
    redisCluster: { events: 8_000, ratePerSecond: 400, advertisers: 30, reshardAdvertisers: 3 },
    kafkaCluster: { events: 8_000, ratePerSecond: 400, partitions: 4, downMs: 4_000 },
  },
};

export function loadProfile(env: NodeJS.ProcessEnv = process.env): IntegrityProfile {
  const name = (env.INTEGRITY_PROFILE ?? "full").trim() || "full";
  if (name !== "ci" && name !== "full" && name !== "smoke")
    throw new Error(`INTEGRITY_PROFILE must be ci, full or smoke, not "${name}"`);
  const seed =
    env.INTEGRITY_SEED === undefined || env.INTEGRITY_SEED === "" ? 20_261_125 : Number(env.INTEGRITY_SEED);
  if (!Number.isSafeInteger(seed)) throw new Error("INTEGRITY_SEED must be an integer");
  return { ...PROFILES[name], seed };
}

/** INTEGRITY_SCENARIOS=crashes,poison runs only those (all by default). */
export function selectedScenarios(env: NodeJS.ProcessEnv = process.env): Set<string> | null {
  const list = (env.INTEGRITY_SCENARIOS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length === 0 ? null : new Set(list);
}

/**
 * Whether scenario 10 checks per-record CPU per replica (INTEGRITY_SCALE_CPU_CHECK=on|off|auto, default auto).
 * auto: only with a core for each replica of both consumers plus two for Kafka, Postgres and Redis, as in
 * production. With fewer, N replicas share the cores with each other and with the stores, and the CPU time each
 * spends per record grows with that contention (cache and scheduler effects the guest cannot see): on the 2-core
 * development machine the same code measured 0.6 to 0.98 of the single-replica figure from run to run.
 */
export function scaleCpuCheck(
  replicas: number,
  env: NodeJS.ProcessEnv = process.env,
  cores: number = availableParallelism(),
): { applied: boolean; reason: string } {
  const setting = (env.INTEGRITY_SCALE_CPU_CHECK ?? "auto").trim() || "auto";
  if (setting !== "on" && setting !== "off" && setting !== "auto")
    throw new Error(`INTEGRITY_SCALE_CPU_CHECK must be on, off or auto, not "${setting}"`);
  const needed = 2 * replicas + 2;
  if (setting === "on") return { applied: true, reason: "INTEGRITY_SCALE_CPU_CHECK=on" };
  if (setting === "off") return { applied: false, reason: "INTEGRITY_SCALE_CPU_CHECK=off" };
  return cores >= needed
    ? { applied: true, reason: `${cores} cores ≥ ${needed}` }
    : {
        applied: false,
        reason: `${cores} cores < ${needed} (a core per replica of both consumers + 2 for the stores); figures printed above, INTEGRITY_SCALE_CPU_CHECK=on enforces it`,
      };
}
