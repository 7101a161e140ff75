import { setTimeout as sleep } from "node:timers/promises";
import type { IntegrityProfile } from "../profile.js";
import { LagMonitor } from "./lag-monitor.js";
import type { Pipeline } from "./pipeline.js";
import { type FaultRecord, recoveryMs, type ScenarioResult } from "./results.js";
import type { Verification } from "./verify.js";

export interface ScenarioContext {
  readonly profile: IntegrityProfile;
  log(line: string): void;
}

export function scenarioLogger(name: string): (line: string) => void {
  return (line) => console.log(`[integrity:${name}] ${new Date().toISOString().slice(11, 19)} ${line}`);
}

/** Assembles a scenario's result from its verification, faults and lag samples. */
export function scenarioResult(input: {
  scenario: string;
  title: string;
  startedAtMs: number;
  verification: Verification;
  faults: readonly FaultRecord[];
  monitor: LagMonitor;
  extra?: Record<string, unknown>;
}): ScenarioResult {
  return {
    scenario: input.scenario,
    title: input.title,
    events: input.verification.records.length,
    faults: input.faults,
    checks: input.verification.checks,
    lostMicros: input.verification.lostMicros,
    doubleMicros: input.verification.doubleMicros,
    maxLag: { ...input.monitor.max },
    recoveryMs: recoveryMs(input.faults),
    durationMs: Date.now() - input.startedAtMs,
    extra: { mismatches: input.verification.mismatches, ...input.extra },
  };
}

/** Stops every instance with SIGTERM and reports exit codes (a clean stop exits 0). */
export async function stopGracefully(pipeline: Pipeline): Promise<Record<string, string>> {
  const exits: Record<string, string> = {};
  await Promise.all(
    pipeline.children.running().map(async (child) => {
      const exit = await Promise.race([child.kill("SIGTERM"), sleep(60_000, { code: null, signal: null })]);
      exits[child.label] =
        exit.code === null && exit.signal === null
          ? "did not exit in 60 s"
          : String(exit.code ?? exit.signal);
    }),
  );
  return exits;
}

export { LagMonitor };
