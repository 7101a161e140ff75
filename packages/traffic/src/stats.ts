import { GENERATED_KINDS, type GeneratedKind, type GeneratedRecord } from "@adpipe/core";

/** Counts of a run so far: records acknowledged by the broker, by kind. */
export interface SimulationStats {
  sent: number;
  bytes: number;
  byKind: Record<GeneratedKind, number>;
  startedAtMs: number;
  elapsedMs: number;
}

export function emptyStats(startedAtMs: number): SimulationStats {
  const byKind = {} as Record<GeneratedKind, number>;
  for (const kind of GENERATED_KINDS) byKind[kind] = 0;
  return { sent: 0, bytes: 0, byKind, startedAtMs, elapsedMs: 0 };
}

export function countSent(stats: SimulationStats, records: readonly GeneratedRecord[]): void {
  for (const record of records) {
    stats.byKind[record.kind]++;
    stats.bytes += record.value.byteLength;
  }
  stats.sent += records.length;
}

/** Events per second over the whole run. */
export function averageRate(stats: SimulationStats): number {
  return stats.elapsedMs > 0 ? (stats.sent * 1_000) / stats.elapsedMs : 0;
}

const number = new Intl.NumberFormat("en-US");

export function formatCount(value: number): string {
  return number.format(Math.round(value));
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1_048_576) return `${(bytes / 1_048_576).toFixed(1)} MiB`;
  if (bytes >= 1_024) return `${(bytes / 1_024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** "click 9,412 duplicate 301 ..." (kinds with zero left out). */
export function formatKinds(byKind: Record<GeneratedKind, number>): string {
  return GENERATED_KINDS.filter((kind) => byKind[kind] > 0)
    .map((kind) => `${kind} ${formatCount(byKind[kind])}`)
    .join("  ");
}
