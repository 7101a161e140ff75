import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time the process has used so far, in seconds, null once it is gone: the sum over its threads of the
 * first field of /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU, user and system). /proc/<pid>/stat's
 * utime + stime count in clock ticks (10 ms), too coarse for a replica that drains its share of a backlog in a
 * tenth of a CPU-second. Node's threads (main, libuv pool, V8 workers) live as long as the process, so none of
 * their time drops out of the sum between two readings.
 */
export function processCpuSeconds(pid: number): number | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let nanoseconds = 0;
  for (const tid of tids) {
    try {
      const value = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      if (Number.isFinite(value)) nanoseconds += value;
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return nanoseconds / 1e9;
}
