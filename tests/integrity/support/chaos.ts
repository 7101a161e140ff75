import { setTimeout as sleep } from "node:timers/promises";
import type { Prng } from "@adpipe/core";
import type { Admin } from "kafkajs";
import type { ExitInfo, ServiceChild } from "./children.js";
import { GroupHolder } from "./group-holder.js";
import type { PathName, Pipeline } from "./pipeline.js";
import type { FaultRecord } from "./results.js";

export type ChaosAction = "kill" | "join-kill" | "leave-kill";

/**
 * A seeded schedule: `kills` SIGKILLs of which `rebalanceKills` happen while the consumer group rebalances
 * because a replica joins (a new instance starts) or leaves (one is stopped with SIGTERM).
 */
export function chaosPlan(rng: Prng, kills: number, rebalanceKills: number): ChaosAction[] {
  const plan: ChaosAction[] = Array.from({ length: kills }, () => "kill");
  const slots = new Set<number>();
  while (slots.size < Math.min(rebalanceKills, kills)) slots.add(rng.int(1, kills - 1));
  let join = true;
  for (const slot of [...slots].sort((a, b) => a - b)) {
    plan[slot] = join ? "join-kill" : "leave-kill";
    join = !join;
  }
  return plan;
}

/** Polls the group's state quickly with one admin connection (a rebalance may last only a second). */
export class GroupWatcher {
  private admin: Admin | null = null;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly groupId: string,
  ) {}

  async state(): Promise<{ state: string; members: number; protocol: string }> {
    if (this.admin === null) {
      const admin = this.pipeline.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const { groups } = await this.admin.describeGroups([this.groupId]);
    const group = groups[0];
    return {
      state: group?.state ?? "Unknown",
      members: group?.members.length ?? 0,
      protocol: group?.protocol ?? "",
    };
  }

  /** Resolves with the first state that satisfies `wanted`, or null after `timeoutMs`. */
  async waitFor(
    wanted: (s: { state: string; members: number; protocol: string }) => boolean,
    timeoutMs: number,
  ): Promise<{ state: string; members: number; protocol: string } | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const current = await this.state().catch(() => null);
      if (current !== null && wanted(current)) return current;
      await sleep(40);
    }
    return null;
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = null;
  }
}

export const REBALANCING = (s: { state: string }) =>
  s.state === "PreparingRebalance" || s.state === "CompletingRebalance";

/** Until every instance answers /readyz with 200 (consuming): a rebalance needs members that are in the group. */
export async function allReady(instances: readonly ServiceChild[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const statuses = await Promise.all(
      instances.map((c) =>
        c.ops("/readyz").then(
          (r) => r.status,
          () => 0,
        ),
      ),
    );
    if (statuses.every((status) => status === 200)) return true;
    await sleep(250);
  }
  return false;
}

/**
 * Adds a GroupHolder to the path's group once it is stable with its `replicas` members, so that the next
 * rebalance cannot finish before the test lets it (see group-holder.ts). Null (logged) when the group did not
 * settle or the holder could not join: the action then runs unheld, and its kill counts as during a rebalance
 * only if the rebalance is observed anyway.
 */
async function holdGroup(
  pipeline: Pipeline,
  path: PathName,
  watcher: GroupWatcher,
  replicas: number,
  log: (line: string) => void,
): Promise<GroupHolder | null> {
  const settled = await watcher.waitFor((s) => s.state === "Stable" && s.members === replicas, 60_000);
  if (settled === null) {
    log(`${path}: group not stable with ${replicas} members within 60 s; rebalance not held`);
    return null;
  }
  let holder: GroupHolder | null = null;
  try {
    holder = await GroupHolder.join(pipeline.kafka, pipeline.groupOf(path), pipeline.topic, settled.protocol);
    const joined = await watcher.waitFor((s) => s.state === "Stable" && s.members === replicas + 1, 60_000);
    if (joined === null) throw new Error("group not stable with the holder within 60 s");
    return holder;
  } catch (error) {
    log(`${path}: rebalance not held: ${error instanceof Error ? error.message : String(error)}`);
    await holder?.release().catch(() => undefined);
    return null;
  }
}

interface HeldKill {
  readonly victim: ServiceChild;
  readonly startedAtMs: number;
  /** The group's state was PreparingRebalance/CompletingRebalance right before and right after the kill. */
  readonly during: boolean;
  readonly detail: string;
}

/**
 * Waits for the rebalance the caller just triggered (reported to the holder by the coordinator; polled when
 * there is no holder or it lost its membership), then SIGKILLs `victim` and reads the group's state again. It
 * counts as during the rebalance only if the broker reported the group rebalancing right before and right after.
 */
async function killDuringRebalance(
  holder: GroupHolder | null,
  watcher: GroupWatcher,
  victim: ServiceChild,
): Promise<HeldKill> {
  const held = holder !== null && (await holder.waitForRebalance(60_000));
  const before = held ? await watcher.state().catch(() => null) : await watcher.waitFor(REBALANCING, 60_000);
  const startedAtMs = Date.now();
  await victim.kill("SIGKILL");
  const after = await watcher.state().catch(() => null);
  const during = before !== null && REBALANCING(before) && after !== null && REBALANCING(after);
  const how = held ? "held by a test member" : "unheld";
  return {
    victim,
    startedAtMs,
    during,
    detail: `group ${before?.state ?? "rebalance not observed"} before the kill, ${after?.state ?? "unknown"} after (${how})`,
  };
}

export interface ChaosOptions {
  readonly pipeline: Pipeline;
  readonly path: PathName;
  readonly rng: Prng;
  readonly plan: readonly ChaosAction[];
  readonly faults: FaultRecord[];
  /** Random pause before each action, after the path recovered from the previous one. */
  readonly pauseMs: readonly [number, number];
  readonly log: (line: string) => void;
}

/**
 * Runs the plan against one path: before each action waits until the path committed again after the previous
 * fault (so every kill hits a working consumer, usually mid-batch), then a random pause, then the action. A
 * join-kill or leave-kill holds its rebalance open with a GroupHolder, so the kill provably lands inside it.
 */
export async function runChaos(options: ChaosOptions): Promise<void> {
  const { pipeline, path, rng, faults, log } = options;
  const start = () => (path === "ingestor" ? pipeline.startIngestor() : pipeline.startTracker());
  const watcher = new GroupWatcher(pipeline, pipeline.groupOf(path));
  try {
    for (const [index, action] of options.plan.entries()) {
      await sleep(rng.int(options.pauseMs[0], options.pauseMs[1]));
      const instances = pipeline.instances(path);
      let fault: FaultRecord;
      if (action === "kill") {
        const victim = rng.pick(instances);
        const startedAtMs = Date.now();
        await victim.kill("SIGKILL");
        await start();
        fault = {
          kind: "sigkill",
          target: victim.label,
          startedAtMs,
          endedAtMs: Date.now(),
          recoveredAtMs: null,
        };
      } else if (action === "join-kill") {
        await allReady(instances, 120_000);
        const old = instances;
        const holder = await holdGroup(pipeline, path, watcher, old.length, log);
        let newcomer: ServiceChild;
        let kill: HeldKill;
        try {
          newcomer = await start();
          const victim = rng.pick(old);
          kill = await killDuringRebalance(holder, watcher, victim);
          await start();
        } finally {
          await holder?.release().catch((error: unknown) => log(`${path}: holder leaving: ${String(error)}`));
        }
        fault = {
          kind: kill.during ? "sigkill-during-rebalance" : "sigkill",
          target: kill.victim.label,
          startedAtMs: kill.startedAtMs,
          endedAtMs: Date.now(),
          recoveredAtMs: null,
          detail: `${newcomer.label} joining; ${kill.detail}`,
        };
      } else {
        let members: ServiceChild[] = instances;
        if (members.length < 2) {
          await start();
          await watcher.waitFor((s) => s.state === "Stable" && s.members >= 2, 60_000);
          members = pipeline.instances(path);
        }
        await allReady(members, 120_000);
        const holder = await holdGroup(pipeline, path, watcher, members.length, log);
        const leaver = rng.pick(members);
        const victim = rng.pick(members.filter((m) => m !== leaver));
        let leaving: Promise<ExitInfo>;
        let kill: HeldKill;
        try {
          leaving = leaver.kill("SIGTERM");
          kill = await killDuringRebalance(holder, watcher, victim);
          await start();
        } finally {
          await holder?.release().catch((error: unknown) => log(`${path}: holder leaving: ${String(error)}`));
        }
        // A member that cannot leave within a minute is a finding of its own: recorded, then killed.
        const left = await Promise.race([
          leaving,
          sleep(60_000).then(async () => ({ ...(await leaver.kill("SIGKILL")), code: -1 })),
        ]);
        fault = {
          kind: kill.during ? "sigkill-during-rebalance" : "sigkill",
          target: kill.victim.label,
          startedAtMs: kill.startedAtMs,
          endedAtMs: Date.now(),
          recoveredAtMs: null,
          detail: `${leaver.label} leaving (SIGTERM, exit ${left.code ?? left.signal}); ${kill.detail}`,
        };
      }
      faults.push(fault);
      await pipeline.awaitRecovery(path, fault);
      const took =
        fault.recoveredAtMs === null ? "not recovered" : `${fault.recoveredAtMs - fault.endedAtMs} ms`;
      log(
        `${path} fault ${index + 1}/${options.plan.length}: ${fault.kind} ${fault.target} ${fault.detail ?? ""} → ${took}`,
      );
    }
  } finally {
    await watcher.close();
  }
}
