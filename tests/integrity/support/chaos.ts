import { setTimeout as sleep } from "node:timers/promises";
import type { Prng } from "@adpipe/core";
import type { Admin } from "kafkajs";
import type { ServiceChild } from "./children.js";
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

  async state(): Promise<{ state: string; members: number }> {
    if (this.admin === null) {
      const admin = this.pipeline.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const { groups } = await this.admin.describeGroups([this.groupId]);
    const group = groups[0];
    return { state: group?.state ?? "Unknown", members: group?.members.length ?? 0 };
  }

  /** Resolves with the first state that satisfies `wanted`, or null after `timeoutMs`. */
  async waitFor(
    wanted: (s: { state: string; members: number }) => boolean,
    timeoutMs: number,
  ): Promise<{ state: string; members: number } | null> {
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
 * fault (so every kill hits a working consumer, usually mid-batch), then a random pause, then the action.
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
        const newcomer = await start();
        const seen = await watcher.waitFor(REBALANCING, 60_000);
        const victim = rng.pick(old);
        const startedAtMs = Date.now();
        await victim.kill("SIGKILL");
        await start();
        fault = {
          kind: seen === null ? "sigkill" : "sigkill-during-rebalance",
          target: victim.label,
          startedAtMs,
          endedAtMs: Date.now(),
          recoveredAtMs: null,
          detail: `${newcomer.label} joining; group ${seen?.state ?? "rebalance not observed"}`,
        };
      } else {
        let members: ServiceChild[] = instances;
        if (members.length < 2) {
          await start();
          await watcher.waitFor((s) => s.state === "Stable" && s.members >= 2, 60_000);
          members = pipeline.instances(path);
        }
        await allReady(members, 120_000);
        const leaver = rng.pick(members);
        const victim = rng.pick(members.filter((m) => m !== leaver));
        const leaving = leaver.kill("SIGTERM");
        const seen = await watcher.waitFor(REBALANCING, 60_000);
        const startedAtMs = Date.now();
        await victim.kill("SIGKILL");
        await start();
        // A member that cannot leave within a minute is a finding of its own: recorded, then killed.
        const left = await Promise.race([
          leaving,
          sleep(60_000).then(async () => ({ ...(await leaver.kill("SIGKILL")), code: -1 })),
        ]);
        fault = {
          kind: seen === null ? "sigkill" : "sigkill-during-rebalance",
          target: victim.label,
          startedAtMs,
          endedAtMs: Date.now(),
          recoveredAtMs: null,
          detail: `${leaver.label} leaving (SIGTERM, exit ${left.code ?? left.signal}); group ${seen?.state ?? "rebalance not observed"}`,
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
