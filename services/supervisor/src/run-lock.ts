import { linkSync, mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

/** Who holds the run lock: written when it is taken, read by a second supervisor. */
export interface RunRecord {
  readonly pid: number;
  /** The process start time (/proc/<pid>/stat field 22): tells a live holder from a reused pid. */
  readonly startTime: string | null;
  readonly dashboardUrl: string;
  readonly startedAt: string;
  readonly cwd: string;
}

export type RunLock =
  | { readonly acquired: true; readonly path: string; readonly staleHolder?: RunRecord; release(): void }
  | { readonly acquired: false; readonly path: string; readonly holder: RunRecord };

/**
 * One supervisor per dashboard port on this machine (per user): a second `npm start` with the same
 * --api-port, from this checkout or another, would fight the first over ports, consumer groups and the
 * broker. Keyed by the port, not the checkout, so the tests' supervisors (random ports) never collide with a
 * developer's.
 */
export function defaultRunLockPath(apiPort: number): string {
  const user = typeof process.getuid === "function" ? String(process.getuid()) : userInfo().username;
  return join(tmpdir(), `adpipe-start-${user}-${apiPort}.lock`);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null where /proc is absent. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** True while the process that wrote `record` runs (not merely a process that reuses its pid). */
export function holderAlive(record: RunRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to another user (not ours, but alive).
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = processStartTime(record.pid);
  return record.startTime === null || now === null || now === record.startTime;
}

function parseRecord(text: string): RunRecord | null {
  try {
    const value = JSON.parse(text) as Partial<RunRecord>;
    if (typeof value.pid !== "number" || !Number.isInteger(value.pid) || value.pid <= 0) return null;
    return {
      pid: value.pid,
      startTime: typeof value.startTime === "string" ? value.startTime : null,
      dashboardUrl: typeof value.dashboardUrl === "string" ? value.dashboardUrl : "?",
      startedAt: typeof value.startedAt === "string" ? value.startedAt : "?",
      cwd: typeof value.cwd === "string" ? value.cwd : "?",
    };
  } catch {
    return null;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

const errno = (error: unknown) => (error as NodeJS.ErrnoException).code;

/** A takeover guard older than this was left by a process killed in the middle of a takeover. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Removes the lock file if it still holds `staleText`. The check and the unlink happen under a takeover guard
 * (an exclusive mkdir), so two supervisors that both found the same dead holder cannot remove each other's
 * fresh lock: the second one re-reads the file under the guard and sees the new holder.
 */
function removeStale(path: string, staleText: string): void {
  const guard = `${path}.takeover`;
  try {
    mkdirSync(guard);
  } catch (error) {
    if (errno(error) !== "EEXIST") throw error;
    try {
      if (Date.now() - statSync(guard).mtimeMs > TAKEOVER_STALE_MS) rmdirSync(guard);
    } catch {
      // Released meanwhile.
    }
    return;
  }
  try {
    if (readText(path) === staleText) unlinkSync(path);
  } finally {
    rmdirSync(guard);
  }
}

/**
 * Takes the run lock at `path` or reports its live holder. The lock is a file created atomically (a link of a
 * fully written temporary file, so a reader never sees half a record); a lock whose holder has died (SIGKILL,
 * a crash, a reboot) is taken over. Release it when the supervisor ends; a missed release is harmless.
 */
export function acquireRunLock(path: string, dashboardUrl: string): RunLock {
  const own: RunRecord = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    dashboardUrl,
    startedAt: new Date().toISOString(),
    cwd: process.cwd(),
  };
  const ownText = `${JSON.stringify(own)}\n`;
  const temporary = `${path}.${process.pid}.tmp`;
  let staleHolder: RunRecord | undefined;
  writeFileSync(temporary, ownText, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        linkSync(temporary, path);
        return {
          acquired: true,
          path,
          ...(staleHolder === undefined ? {} : { staleHolder }),
          release: () => {
            try {
              if (readText(path) === ownText) unlinkSync(path);
            } catch {
              // Gone already.
            }
          },
        };
      } catch (error) {
        if (errno(error) !== "EEXIST") throw error;
      }
      const text = readText(path);
      if (text === null) continue;
      const holder = parseRecord(text);
      if (holder !== null && holderAlive(holder)) return { acquired: false, path, holder };
      staleHolder = holder ?? undefined;
      removeStale(path, text);
      // Another supervisor may be taking over the same stale lock right now: let it finish.
      if (readText(path) !== null) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    throw new Error(`could not take the run lock ${path}: it keeps changing`);
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // Already gone.
    }
  }
}
