import { readFile } from "node:fs/promises";

/** The parts of a V8 `.cpuprofile` (Chrome DevTools format) the summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  /** Share of the profile's busy time (idle excluded). */
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  /** Share of wall time the thread was busy (not idle). */
  readonly busyShare: number;
  readonly top: readonly ProfileEntry[];
  /** Self time per package or area (kafkajs, pg, @adpipe/core, GC, node internals, ...). */
  readonly byArea: readonly { area: string; selfMs: number; share: number }[];
}

/** Where a function lives: a dependency, a workspace package, a service, or node itself. */
export function areaOf(url: string, functionName: string): string {
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(idle)") return "idle";
  if (functionName === "(program)") return "V8/native (program)";
  if (url === "") return "native/builtins";
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dependency !== null) return dependency[1] ?? "node_modules";
  const workspace = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (workspace !== null)
    return workspace[1] === "packages" ? `@adpipe/${workspace[2]}` : `service ${workspace[2]}`;
  if (url.startsWith("node:")) return "node internals";
  return "other";
}

function shortWhere(url: string, line: number): string {
  if (url === "") return "";
  const trimmed = url
    .replace(/^file:\/\//, "")
    .replace(/^.*?\/(node_modules|packages|services|bench)\//, "$1/");
  return `${trimmed}:${line + 1}`;
}

/** Self time per function and per area of a V8 CPU profile, idle time set apart. */
export function summarizeProfile(profile: CpuProfile, topN = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    totalUs += us;
    const area = areaOf(url, functionName);
    if (area === "idle") {
      idleUs += us;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = functionName === "" ? "(anonymous)" : functionName;
    const where = shortWhere(url, lineNumber);
    const key = `${name}\u0000${where}`;
    const entry = functions.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyShare: totalUs === 0 ? 0 : (totalUs - idleUs) / totalUs,
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: f.us / busyUs })),
    byArea: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: us / 1000, share: us / busyUs })),
  };
}

export async function summarizeProfileFile(path: string, topN = 15): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(path, "utf8")) as CpuProfile, topN);
}

export function formatProfile(title: string, summary: ProfileSummary): string {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `${title}: ${(summary.totalMs / 1000).toFixed(1)} s sampled, busy ${pct(summary.busyShare)} of it`,
    "  by area (share of busy time):",
    ...summary.byArea.slice(0, 10).map((a) => `    ${pct(a.share)}  ${a.area}`),
    "  top self time:",
    ...summary.top.map((f) => `    ${pct(f.share)}  ${f.name}  ${f.where}`),
  ];
  return lines.join("\n");
}
