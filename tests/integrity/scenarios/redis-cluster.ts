import { randomBytes } from "node:crypto";
import { hashSlot } from "@adpipe/serving-client";
import pg from "pg";
import { testServices, uniqueIdentifier } from "../../support/index.js";
import { freePort } from "../../support/ports.js";
import { type ClusterNode, PrivateRedisCluster } from "../../support/private-redis-cluster.js";
import { ApiServingProbe } from "../support/api-serving-probe.js";
import { producePaced } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import { PrefixStates } from "../support/prefix-states.js";
import type { FaultRecord, ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { registerSecret } from "../support/secrets.js";
import { type ProbeStats, ServingProbe } from "../support/serving-probe.js";
import { liveStream } from "../support/streams.js";
import { verifyPipeline } from "../support/verify.js";
import { eventually } from "../support/wait.js";

/** How long ad servers keep looking up back to back after a fault is over. */
const BURST_AFTER_MS = 4_000;

const owns = (node: ClusterNode, slot: number) => node.slots.some(([from, to]) => slot >= from && slot <= to);

interface LookupWindow {
  /** Lookups (per advertiser and client) answered from the fault's start until the burst after it ended. */
  readonly answered: number;
  /** Lookups that failed (no answer) in the same time. */
  readonly failed: number;
  /** failed / (answered + failed), percent. */
  readonly failedPercent: number;
  readonly unknown: number;
  /** From the fault's start to the last failed lookup (0: none failed), ms. */
  readonly failingMs: number;
  /** The longest round of lookups in the window (a lookup that waited through the fault instead of failing). */
  readonly slowestRoundMs: number;
  /** How long ad servers got no timely answer: the larger of the two. */
  readonly unavailableMs: number;
}

function windowOf(before: ProbeStats, after: ProbeStats, faultStartedAtMs: number): LookupWindow {
  const failed = after.errors - before.errors;
  const failingMs = failed > 0 && after.lastErrorAtMs !== null ? after.lastErrorAtMs - faultStartedAtMs : 0;
  const answered = after.answered - before.answered;
  return {
    answered,
    failed,
    failedPercent: answered + failed === 0 ? 0 : Math.round((1_000 * failed) / (answered + failed)) / 10,
    unknown: after.unknown - before.unknown,
    failingMs,
    slowestRoundMs: after.slowestRoundMs,
    unavailableMs: Math.max(failingMs, after.slowestRoundMs),
  };
}

/** A copy of the probe's figures; the slowest round starts again from 0 for the coming window. */
function snapshot(stats: ProbeStats): ProbeStats {
  const copy = { ...stats, wrong: [...stats.wrong] };
  stats.slowestRoundMs = 0;
  return copy;
}

/**
 * Scenario 12: the real-time path on a Redis Cluster of its own (3 masters + 3 replicas, scripts/redis-cluster.sh
 * on random ports). Mid-stream a master holding advertisers is SIGKILLed — the cluster promotes its replica —
 * and later some advertisers' slots are moved to another master with `redis-cli --cluster reshard`. The tracker,
 * the API and serving clients run in cluster mode throughout; every lookup is judged (a state the advertiser
 * went through, unknown, or no answer — never a wrong one) and the stores must end equal to the oracle.
 */
export async function redisCluster(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.redisCluster;
  const startedAtMs = Date.now();
  const cluster = await PrivateRedisCluster.start();
  log(`private Redis Cluster on 127.0.0.1:${cluster.basePort}-${cluster.basePort + 5}`);
  let pipeline: Pipeline | null = null;
  let monitor: LagMonitor | null = null;
  let probe: ServingProbe | null = null;
  let apiProbe: ApiServingProbe | null = null;
  const apiRole = uniqueIdentifier("integrity_rcluster_api");
  try {
    pipeline = await Pipeline.create({ scenario: "rcluster", partitions: 4, redisUrl: cluster.url });
    monitor = new LagMonitor(pipeline);
    const records = liveStream({
      seed: profile.seed + 1_000,
      events: settings.events,
      advertisers: settings.advertisers,
      runId: `rc${profile.seed}`,
      ratePerSecond: settings.ratePerSecond,
    });
    const valid = new PrefixStates(records, Date.now());
    const advertisers = valid.advertiserIds();
    const slotOf = (id: string) => hashSlot(pipeline?.store.keys.advertiser(id) ?? "");
    const metaSlot = hashSlot(pipeline.store.keys.meta(pipeline.topic));

    await pipeline.db.pool.query(`CREATE ROLE ${pg.escapeIdentifier(apiRole)} LOGIN IN ROLE adpipe_api`);
    const apiUrl = new URL(testServices().databaseUrl);
    apiUrl.pathname = `/${pipeline.db.name}`;
    apiUrl.username = apiRole;
    apiUrl.password = "";
    const readToken = registerSecret(
      "API read token (redis cluster)",
      `r-${randomBytes(16).toString("hex")}`,
    );
    const apiPort = await freePort();
    await pipeline.startIngestor();
    const tracker = await pipeline.startTracker();
    pipeline.children.spawn("api", {
      API_HOST: "127.0.0.1",
      API_PORT: String(apiPort),
      DATABASE_URL: apiUrl.toString(),
      REDIS_URL: cluster.url,
      REDIS_KEY_PREFIX: pipeline.prefix,
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: pipeline.topic,
      API_READ_TOKENS: `adserver:${readToken}`,
      API_WRITE_TOKENS: `ops:w-${randomBytes(16).toString("hex")}`,
      LOG_LEVEL: "warn",
    });
    const apiBase = `http://127.0.0.1:${apiPort}`;
    await eventually(
      "the API answers /healthz",
      async () =>
        (await fetch(`${apiBase}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => null))
          ?.status === 200,
      120_000,
      250,
    );
    monitor.start();
    probe = await new ServingProbe(pipeline.redisUrl, pipeline.prefix, advertisers, valid).start();
    apiProbe = new ApiServingProbe(apiBase, readToken, advertisers, valid).start();
    const production = producePaced(pipeline.kafka, pipeline.topic, records, settings.ratePerSecond);
    const faults: FaultRecord[] = [];
    const stageReached = async (share: number) =>
      eventually(
        `${Math.round(share * 100)} % of the stream produced and applied`,
        async () =>
          production.stats.sent >= records.length * share &&
          ((await pipeline?.committed("tracker")) ?? 0) >= records.length * share * 0.5,
        300_000,
      );
    const snapshots = () => ({
      clients: snapshot(probe?.stats as ProbeStats),
      api: snapshot(apiProbe?.stats as ProbeStats),
    });
    const windows = (before: ReturnType<typeof snapshots>, faultStartedAtMs: number) => ({
      clients: windowOf(before.clients, probe?.stats as ProbeStats, faultStartedAtMs),
      api: windowOf(before.api, apiProbe?.stats as ProbeStats, faultStartedAtMs),
    });

    // 1. Failover: SIGKILL the master with the most advertisers that does not hold the tracker's meta hash
    // (its offsets stay on a live node while the advertisers' hashes move to the promoted replica).
    await stageReached(1 / 3);
    const masters = await cluster.masters();
    const candidates = masters
      .filter((node) => !owns(node, metaSlot))
      .map((node) => ({ node, advertisers: advertisers.filter((id) => owns(node, slotOf(id))).length }))
      .sort((a, b) => b.advertisers - a.advertisers);
    const victim = candidates[0]?.node;
    if (victim === undefined) throw new Error(`no master to kill in ${JSON.stringify(masters)}`);
    const replica = (await cluster.topology()).find((node) => node.masterId === victim.id);
    const before = snapshots();
    const failover: FaultRecord = {
      kind: "redis-master-sigkill",
      target: `redis master :${victim.port} (${candidates[0]?.advertisers} advertisers)`,
      startedAtMs: Date.now(),
      endedAtMs: 0,
      recoveredAtMs: null,
      detail: `replica :${replica?.port ?? "?"} promoted by the cluster`,
    };
    await cluster.kill(victim.port);
    const promoted = (async () => {
      await eventually(
        `the replica of :${victim.port} is promoted`,
        async () =>
          (await cluster.masters()).some(
            (node) => node.port !== victim.port && victim.slots.every(([from]) => owns(node, from)),
          ),
        60_000,
        50,
      );
      failover.endedAtMs = Date.now();
      // From the promotion on: the first commit of the tracker beyond where it stood then.
      await pipeline?.awaitRecovery("tracker", failover);
    })();
    const [failoverRounds] = await Promise.all([
      (async () => {
        let rounds = 0;
        while (failover.endedAtMs === 0) rounds += (await probe?.burst(200)) ?? 0;
        rounds += (await probe?.burst(BURST_AFTER_MS)) ?? 0;
        return rounds;
      })(),
      (async () => {
        while (failover.endedAtMs === 0) await apiProbe?.burst(200);
        await apiProbe?.burst(BURST_AFTER_MS);
      })(),
      promoted,
    ]);
    faults.push(failover);
    const failoverWindow = windows(before, failover.startedAtMs);
    log(
      `master :${victim.port} SIGKILLed: promoted after ${failover.endedAtMs - failover.startedAtMs} ms, tracker committing again ${(failover.recoveredAtMs ?? Number.NaN) - failover.startedAtMs} ms after the kill; lookups ${JSON.stringify(failoverWindow)}`,
    );
    // The killed node comes back empty and rejoins as a replica of the promoted one (a full resync).
    const rejoinStartedAtMs = Date.now();
    await cluster.startMissing();
    const rejoinMs = Date.now() - rejoinStartedAtMs;

    // 2. Slot migration: move the slots of some advertisers (the first ones in slot order of a master, as
    // redis-cli --cluster reshard takes them) to another master while the stream goes on.
    await stageReached(2 / 3);
    const nowMasters = await cluster.masters();
    const source = nowMasters
      .map((node) => ({
        node,
        slots: advertisers
          .map(slotOf)
          .filter((slot) => owns(node, slot))
          .sort((a, b) => a - b),
      }))
      .sort((a, b) => b.slots.length - a.slots.length)[0];
    const target = nowMasters.find((node) => node.id !== source?.node.id);
    if (source === undefined || target === undefined || source.slots.length === 0)
      throw new Error(`no masters to reshard between: ${JSON.stringify(nowMasters)}`);
    const ownSlots = source.node.slots.flatMap(([from, to]) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i),
    );
    const lastMoved = source.slots[Math.min(settings.reshardAdvertisers, source.slots.length) - 1] as number;
    const slotsToMove = ownSlots.indexOf(lastMoved) + 1;
    const moved = advertisers.filter(
      (id) => ownSlots.indexOf(slotOf(id)) < slotsToMove && owns(source.node, slotOf(id)),
    );
    const beforeReshard = snapshots();
    const reshard: FaultRecord = {
      kind: "redis-slot-migration",
      target: `${slotsToMove} slots :${source.node.port} → :${target.port}`,
      startedAtMs: Date.now(),
      endedAtMs: 0,
      recoveredAtMs: null,
      detail: `redis-cli --cluster reshard; ${moved.length} advertisers' slots moved with their keys`,
    };
    const resharding = cluster.reshard(source.node.id, target.id, slotsToMove).then(async () => {
      reshard.endedAtMs = Date.now();
      await pipeline?.awaitRecovery("tracker", reshard);
    });
    const [reshardRounds] = await Promise.all([
      (async () => {
        let rounds = 0;
        while (reshard.endedAtMs === 0) rounds += (await probe?.burst(200)) ?? 0;
        rounds += (await probe?.burst(BURST_AFTER_MS)) ?? 0;
        return rounds;
      })(),
      (async () => {
        while (reshard.endedAtMs === 0) await apiProbe?.burst(200);
        await apiProbe?.burst(BURST_AFTER_MS);
      })(),
      resharding,
    ]);
    faults.push(reshard);
    const afterReshard = await cluster.masters();
    const movedNow = moved.filter((id) =>
      afterReshard.some((n) => n.id === target.id && owns(n, slotOf(id))),
    );
    const reshardWindow = windows(beforeReshard, reshard.startedAtMs);
    log(
      `resharded ${slotsToMove} slots (${movedNow.length}/${moved.length} advertisers now on :${target.port}) in ${reshard.endedAtMs - reshard.startedAtMs} ms; lookups ${JSON.stringify(reshardWindow)}`,
    );

    await production.done;
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();
    const lookups = await probe.stop();
    probe = null;
    const apiLookups = await apiProbe.stop();
    apiProbe = null;
    const rebuilds = await tracker.metric("budget_tracker_rebuilds_total").catch(() => Number.NaN);
    const verification = await verifyPipeline(pipeline);
    const exhausted = verification.oracle
      .servingStateAt(Date.now())
      .filter((state) => !state.canServe).length;
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const processes = pipeline.children.children.length;
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "12-redis-cluster",
      title: "Redis Cluster: master SIGKILLed (replica promoted), then slots resharded",
      startedAtMs,
      verification,
      faults,
      monitor,
      extra: {
        failover: {
          killedPort: victim.port,
          promotedPort: replica?.port ?? null,
          promotionMs: failover.endedAtMs - failover.startedAtMs,
          trackerBackMs:
            failover.recoveredAtMs === null ? null : failover.recoveredAtMs - failover.startedAtMs,
          lookups: failoverWindow,
          burstRounds: failoverRounds,
          killedNodeRejoinedMs: rejoinMs,
        },
        reshard: {
          slots: slotsToMove,
          advertisersMoved: moved.length,
          advertisersOnTarget: movedNow.length,
          durationMs: reshard.endedAtMs - reshard.startedAtMs,
          trackerBackMs: reshard.recoveredAtMs === null ? null : reshard.recoveredAtMs - reshard.endedAtMs,
          lookups: reshardWindow,
          burstRounds: reshardRounds,
        },
        advertisersNotServingAtEnd: exhausted,
        rebuilds,
        processes,
        lookups,
        apiLookups,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
        producer: production.stats,
      },
    });
  } finally {
    monitor?.stop();
    await probe?.stop();
    await apiProbe?.stop();
    await pipeline?.close().catch(() => undefined);
    await cluster.stop();
    const admin = new pg.Client({ connectionString: testServices().databaseUrl });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(apiRole)}`).catch(() => undefined);
    await admin.end();
  }
}
