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
  readonly cpuSeconds: number;
  /** Records consumed per CPU-second of this process (null when it consumed nothing). */
  readonly perCpuSecond: number | null;
}

export interface PhaseEfficiency {
  readonly replicas: readonly ReplicaEfficiency[];
  readonly records: number;
  readonly cpuSeconds: number;
  /** Σ records / Σ CPU-seconds over the replicas: the records-weighted mean per replica. */
  readonly perCpuSecond: number;
  /** From the baseline until the path had consumed everything. */
  readonly wallMs: number;
}

export function summarize(replicas: readonly ReplicaEfficiency[], wallMs: number): PhaseEfficiency {
  const records = replicas.reduce((sum, r) => sum + r.records, 0);
  const cpuSeconds = replicas.reduce((sum, r) => sum + r.cpuSeconds, 0);
  return { replicas, records, cpuSeconds, perCpuSecond: cpuSeconds > 0 ? records / cpuSeconds : 0, wallMs };
}

/**
 * Per-record CPU of each replica of one path while it drains a backlog: a baseline reading (CPU time from
 * /proc/<pid>/stat, the record counter from /metrics) taken while the path is idle, then the CPU time again the
 * moment the stores show the path consumed everything (polled from outside: the services do no extra work for
 * the measurement while it runs), then the counters. A replica whose partitions ran dry before the others' is
 * charged the little CPU it spent waiting (heartbeats, empty fetches): that is part of running replicas.
 */
export class EfficiencyMeter {
  private baseline = new Map<ServiceChild, Reading>();

  constructor(private readonly replicas: readonly ServiceChild[]) {}

  async start(): Promise<void> {
    for (const child of this.replicas) {
      const reading = await read(child);
      if (reading === null) throw new Error(`cannot read CPU and records of ${child.label}`);
      this.baseline.set(child, reading);
    }
  }

  async measure(
    finished: () => Promise<boolean>,
    timeoutMs: number,
    everyMs = 100,
  ): Promise<PhaseEfficiency> {
    const deadline = Date.now() + timeoutMs;
    while (!(await finished())) {
      if (Date.now() > deadline) throw new Error(`the backlog was not drained within ${timeoutMs} ms`);
      await sleep(everyMs);
    }
    const endedAtMs = Date.now();
    const cpuAtEnd = new Map(this.replicas.map((child) => [child, processCpuSeconds(child.pid)]));
    const replicas: ReplicaEfficiency[] = [];
    for (const child of this.replicas) {
      const start = this.baseline.get(child) as Reading;
      const end = await read(child);
      const cpu = cpuAtEnd.get(child);
      if (end === null || cpu === null || cpu === undefined)
        throw new Error(`cannot read CPU and records of ${child.label} after the drain`);
      const records = end.records - start.records;
      const cpuSeconds = cpu - start.cpuSeconds;
      replicas.push({
        label: child.label,
        records,
        cpuSeconds,
        perCpuSecond: records > 0 && cpuSeconds > 0 ? records / cpuSeconds : null,
      });
    }
    const startedAtMs = Math.min(...[...this.baseline.values()].map((r) => r.atMs));
    return summarize(replicas, endedAtMs - startedAtMs);
  }
}

/** One line per phase: the path's figure and each replica's (records, CPU-seconds, records per CPU-second). */
export function describeEfficiency(phase: PhaseEfficiency): string {
  const replicas = phase.replicas
    .map(
      (r) =>
        `${r.label} ${r.records} rec / ${r.cpuSeconds.toFixed(2)} s = ${r.perCpuSecond === null ? "-" : Math.round(r.perCpuSecond)}`,
    )
    .join("; ");
  return `${Math.round(phase.perCpuSecond)} records per CPU-second (${phase.records} in ${phase.cpuSeconds.toFixed(2)} CPU-s, ${(phase.wallMs / 1_000).toFixed(1)} s: ${replicas})`;
}
