import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every common Linux). */
const CLOCK_TICKS = (() => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  readonly pid: number;
  /** User + system CPU time of the process so far (threads included, children excluded). */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  /** Peak resident set size (VmHWM): the high-water mark since the process started. */
  readonly peakRssBytes: number;
}

function kibField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** CPU time and memory of a process from /proc (Linux); null when it is gone or /proc is unavailable. */
export async function readProc(pid: number): Promise<ProcSample | null> {
  try {
    const [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readFile(`/proc/${pid}/status`, "utf8"),
    ]);
    // Fields after the command name (which may contain spaces) start at ") ": utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return {
      pid,
      cpuSeconds: ticks / CLOCK_TICKS,
      rssBytes: kibField(status, "VmRSS"),
      peakRssBytes: kibField(status, "VmHWM"),
    };
  } catch {
    return null;
  }
}

/** Total CPU seconds of several processes; a process that disappeared keeps its last known reading. */
export class CpuAccount {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();

  /** Reads the processes now; the first reading of a pid is its baseline (pass baseline 0 to count all). */
  async sample(pids: Iterable<number>, baselineZero = false): Promise<void> {
    await Promise.all(
      [...pids].map(async (pid) => {
        const sample = await readProc(pid);
        if (sample === null) return;
        if (!this.first.has(pid)) this.first.set(pid, baselineZero ? 0 : sample.cpuSeconds);
        this.last.set(pid, sample.cpuSeconds);
      }),
    );
  }

  /** CPU seconds used since each process's baseline. */
  get seconds(): number {
    let total = 0;
    for (const [pid, last] of this.last) total += last - (this.first.get(pid) ?? last);
    return total;
  }
}

/** Pids of processes whose command name (comm) is exactly `name`. */
export async function pidsByName(name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, "utf8").catch(() => "");
    if (comm.trim() === name) pids.push(Number(entry));
  }
  return pids;
}

/** Pid of the local Kafka broker (a JVM running kafka.Kafka), null when it runs elsewhere. */
export async function brokerPid(): Promise<number | null> {
  for (const pid of await pidsByName("java")) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes("kafka.Kafka")) return pid;
  }
  return null;
}
