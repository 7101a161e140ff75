import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceChild } from "./children.js";
import { processCpuSeconds } from "./cpu.js";

/** The counter of records a service consumed (every outcome), read from its /metrics. */
export const RECORDS_METRIC = {
  ingestor: "ingestor_records_total",
  "budget-tracker": "budget_tracker_records_total",
} as const;

interface Reading {
  readonly atMs: number;
  readonly cpuSeconds: number;
  readonly records: number;
}

async function read(child: ServiceChild): Promise<Reading | null> {
  const metric = RECORDS_METRIC[child.service as keyof typeof RECORDS_METRIC];
  const records = await child.metric(metric).catch(() => null);
  const cpuSeconds = processCpuSeconds(child.pid);
  return records === null || cpuSeconds === null ? null : { atMs: Date.now(), cpuSeconds, records };
}

export interface ReplicaEfficiency {
  readonly label: string;
  readonly records: number;
  /** CPU time the process used while draining (from its thaw to the end of the drain). */
  readonly cpuSeconds: number;
  /** What it used per second while idle (caught up, nothing produced), measured just before. */
  readonly idleCpuPerSecond: number;
  /** cpuSeconds minus the idle draw over the drain: the CPU the records cost. */
  readonly netCpuSeconds: number;
}

export interface PhaseEfficiency {
  readonly replicas: readonly ReplicaEfficiency[];
  readonly records: number;
  readonly cpuSeconds: number;
  readonly netCpuSeconds: number;
  /** Σ records / Σ CPU-seconds over the replicas (the records-weighted mean per replica), idle draw included. */
  readonly perCpuSecond: number;
  /** Σ records / Σ net CPU-seconds: records per CPU-second the records themselves cost. */
  readonly perNetCpuSecond: number;
  /** From the thaw until the path had consumed everything. */
  readonly wallMs: number;
}

export function summarize(replicas: readonly ReplicaEfficiency[], wallMs: number): PhaseEfficiency {
  const records = replicas.reduce((sum, r) => sum + r.records, 0);
  const cpuSeconds = replicas.reduce((sum, r) => sum + r.cpuSeconds, 0);
  const netCpuSeconds = replicas.reduce((sum, r) => sum + r.netCpuSeconds, 0);
  return {
    replicas,
    records,
    cpuSeconds,
    netCpuSeconds,
    perCpuSecond: cpuSeconds > 0 ? records / cpuSeconds : 0,
    perNetCpuSecond: netCpuSeconds > 0 ? records / netCpuSeconds : 0,
    wallMs,
  };
}

/**
 * Per-record CPU of each replica of one path while it drains a backlog. start(): with the path caught up and
 * nothing produced, each process' idle draw (timers, heartbeats, empty fetches) over `idleMs`, and a baseline
 * (CPU time from /proc/<pid>/stat, the record counter from /metrics). measure(), called at the thaw: the CPU
 * time again the moment the stores show the path consumed everything (polled from outside: the services do no
 * extra work for the measurement), then the counters.
 *
 * Why the idle draw is reported apart: on two shared cores three replicas drain together no faster than one, so
 * each is busy a third of the time and pays its per-second overhead over a third of the records. With a core
 * per pod (production) every replica is saturated and that overhead is amortized the same for 1 and for N.
 * The net figure (CPU minus idle draw) is the per-record cost that scaling has to keep flat; the gross one is
 * printed beside it.
 */
export class EfficiencyMeter {
  private baseline = new Map<ServiceChild, Reading & { idleCpuPerSecond: number }>();

  constructor(private readonly replicas: readonly ServiceChild[]) {}

  async start(idleMs: number): Promise<void> {
    const first = new Map<ServiceChild, { atMs: number; cpu: number | null }>(
      this.replicas.map((child) => [child, { atMs: Date.now(), cpu: processCpuSeconds(child.pid) }]),
    );
    await sleep(idleMs);
    for (const child of this.replicas) {
      const before = first.get(child);
      const atMs = Date.now();
      const cpu = processCpuSeconds(child.pid);
      const reading = await read(child);
      if (reading === null || cpu === null || before?.cpu === null || before === undefined)
        throw new Error(`cannot read CPU and records of ${child.label}`);
      const idleCpuPerSecond = (cpu - before.cpu) / ((atMs - before.atMs) / 1_000);
      this.baseline.set(child, { ...reading, cpuSeconds: cpu, idleCpuPerSecond });
    }
  }

  async measure(
    finished: () => Promise<boolean>,
    timeoutMs: number,
    everyMs = 100,
  ): Promise<PhaseEfficiency> {
    const startedAtMs = Date.now();
    const deadline = startedAtMs + timeoutMs;
    while (!(await finished())) {
      if (Date.now() > deadline) throw new Error(`the backlog was not drained within ${timeoutMs} ms`);
      await sleep(everyMs);
    }
    const wallMs = Date.now() - startedAtMs;
    const cpuAtEnd = new Map(this.replicas.map((child) => [child, processCpuSeconds(child.pid)]));
    const replicas: ReplicaEfficiency[] = [];
    for (const child of this.replicas) {
      const start = this.baseline.get(child);
      const end = await read(child);
      const cpu = cpuAtEnd.get(child);
      if (start === undefined || end === null || cpu === null || cpu === undefined)
        throw new Error(`cannot read CPU and records of ${child.label} after the drain`);
      const cpuSeconds = cpu - start.cpuSeconds;
      replicas.push({
        label: child.label,
        records: end.records - start.records,
        cpuSeconds,
        idleCpuPerSecond: start.idleCpuPerSecond,
        netCpuSeconds: Math.max(0, cpuSeconds - start.idleCpuPerSecond * (wallMs / 1_000)),
      });
    }
    return summarize(replicas, wallMs);
  }
}

const rate = (records: number, seconds: number) =>
  seconds > 0 ? String(Math.round(records / seconds)) : "-";

/** One line per phase: the path's figures, then each replica's. */
export function describeEfficiency(phase: PhaseEfficiency): string {
  const replicas = phase.replicas
    .map(
      (r) =>
        `${r.label} ${r.records} rec, ${r.cpuSeconds.toFixed(2)} CPU-s (idle ${(r.idleCpuPerSecond * 1_000).toFixed(0)} ms/s) → ${rate(r.records, r.cpuSeconds)} gross, ${rate(r.records, r.netCpuSeconds)} net`,
    )
    .join("; ");
  return (
    `${Math.round(phase.perNetCpuSecond)} records per net CPU-second, ${Math.round(phase.perCpuSecond)} gross ` +
    `(${phase.records} records, ${phase.cpuSeconds.toFixed(2)} CPU-s, drained in ${(phase.wallMs / 1_000).toFixed(1)} s: ${replicas})`
  );
}
