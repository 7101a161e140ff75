import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchContext, Dataset } from "./context.js";
import { reached } from "./infra.js";
import { PeerCpu } from "./peers.js";
import { formatProfile, type ProfileSummary, summarizeProfileFile } from "./profile.js";
import { type ServiceKind, startService } from "./services.js";

export interface ThroughputRun {
  readonly events: number;
  /** From the service reporting ready (consumer started) to every record committed/applied. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** CPU seconds of the service process over the same interval. */
  readonly serviceCpuSeconds: number;
  readonly peakRssBytes: number;
  readonly peers: { broker: number | null; redis: number | null; postgresBackends: number | null };
  readonly profile: ProfileSummary | null;
}

export interface ThroughputOptions {
  readonly kind: ServiceKind;
  readonly dataset: Dataset;
  readonly env: Record<string, string>;
  /** Next offset per partition the service has durably processed. */
  readonly progress: () => Promise<ReadonlyMap<number, bigint>>;
  /** application_name of the service's Postgres connections (their backends' CPU is counted). */
  readonly applicationName: string | null;
  readonly cpuProfileDir?: string;
  readonly timeoutMs?: number;
}

/**
 * One throughput run: the topic is already full; start the service, time until its stored progress reaches
 * the end offsets, and account CPU and memory of the service and of what it leans on.
 */
export async function throughputRun(
  context: BenchContext,
  options: ThroughputOptions,
): Promise<ThroughputRun> {
  const peers = new PeerCpu(context.postgres, context.redis, options.applicationName);
  await peers.start();
  const service = await startService(options.kind, {
    mode: context.settings.mode,
    env: { ...options.env, ...context.settings.serviceEnv },
    ...(options.cpuProfileDir === undefined ? {} : { cpuProfileDir: options.cpuProfileDir }),
  });
  try {
    const before = await service.proc();
    const deadline = service.readyAtMs + (options.timeoutMs ?? 900_000);
    let polls = 0;
    for (;;) {
      if (reached(await options.progress(), options.dataset.endOffsets)) break;
      if (Date.now() > deadline) throw new Error(`${options.kind} did not finish within the timeout`);
      if (++polls % 5 === 0) await peers.sample();
      await sleep(50);
    }
    const finishedAtMs = Date.now();
    const after = await service.proc();
    await peers.sample();
    const seconds = (finishedAtMs - service.readyAtMs) / 1000;
    await service.stop();
    let profile: ProfileSummary | null = null;
    const profilePath = await service.profilePath();
    if (profilePath !== null) {
      profile = await summarizeProfileFile(profilePath, 20);
      context.log(formatProfile(`${options.kind} CPU profile (${profilePath})`, profile));
    }
    return {
      events: options.dataset.events,
      seconds,
      eventsPerSecond: options.dataset.events / seconds,
      serviceCpuSeconds: (after?.cpuSeconds ?? Number.NaN) - (before?.cpuSeconds ?? Number.NaN),
      peakRssBytes: after?.peakRssBytes ?? Number.NaN,
      peers: peers.seconds(),
      profile,
    };
  } finally {
    await service.stop();
  }
}

/** CPU seconds per million events. */
export function perMillion(seconds: number | null, events: number): number {
  return seconds === null ? Number.NaN : (seconds / events) * 1_000_000;
}

/**
 * Records a throughput part's runs (profiles left out: they are large) and, with --profile, one more run on the
 * profile dataset whose CPU profile is kept.
 */
export async function recordRunsAndProfile(
  context: BenchContext,
  part: string,
  runs: readonly ThroughputRun[],
  profiledRun: (dataset: Dataset, profileDir: string) => Promise<ThroughputRun>,
  profileName: string,
): Promise<void> {
  context.report.detail(
    part,
    "runs",
    runs.map(({ profile: _, ...r }) => r),
  );
  if (!context.settings.profile) return;
  const profiled = await profiledRun(await context.dataset("profile"), join(context.profileDir, profileName));
  context.report.detail(part, "profiled_run", {
    events: profiled.events,
    eventsPerSecond: profiled.eventsPerSecond,
    profile: profiled.profile,
  });
}
