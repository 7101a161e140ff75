import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | null = null;

/** USER_HZ of this kernel (the unit of utime/stime in /proc/<pid>/stat), 100 on every usual Linux. */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    const answer = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    ticksPerSecond = Number.isSafeInteger(answer) && answer > 0 ? answer : 100;
  }
  return ticksPerSecond;
}

/**
 * CPU time the process has used so far (user + system, every thread), in seconds, from /proc/<pid>/stat;
 * null once the process is gone. The command name (field 2) may hold spaces and parentheses, so the fields
 * are counted from the last ")".
 */
export function processCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command: state (field 3) … utime (14), stime (15).
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) / clockTicks();
}
