import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { acquireRunLock, defaultRunLockPath, processStartTime } from "../src/run-lock.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "adpipe-run-lock-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (and so cannot hold a lock). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  return Number(child.stdout.trim());
}

const record = (pid: number, startTime: string | null) =>
  `${JSON.stringify({ pid, startTime, dashboardUrl: "http://127.0.0.1:1/", startedAt: "earlier", cwd: "/x" })}\n`;

describe("run lock", () => {
  test("the first supervisor takes it; a second is told who holds it; release frees it", () => {
    const path = join(dir, "run.lock");
    const first = acquireRunLock(path, "http://127.0.0.1:8080/");
    expect(first.acquired).toBe(true);
    const second = acquireRunLock(path, "http://127.0.0.1:8080/");
    expect(second).toMatchObject({
      acquired: false,
      holder: { pid: process.pid, dashboardUrl: "http://127.0.0.1:8080/" },
    });
    if (first.acquired) first.release();
    expect(existsSync(path)).toBe(false);
    const third = acquireRunLock(path, "http://127.0.0.1:8080/");
    expect(third.acquired).toBe(true);
    if (third.acquired) third.release();
  });

  test("a lock whose process died is taken over and reported", () => {
    const path = join(dir, "run.lock");
    const pid = deadPid();
    writeFileSync(path, record(pid, null));
    const lock = acquireRunLock(path, "http://127.0.0.1:8080/");
    expect(lock).toMatchObject({ acquired: true, staleHolder: { pid } });
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ pid: process.pid });
    if (lock.acquired) lock.release();
  });

  test("a reused pid (same pid, other start time) does not keep a dead holder's lock", () => {
    const path = join(dir, "run.lock");
    expect(processStartTime(process.pid)).not.toBeNull();
    writeFileSync(path, record(process.pid, "1"));
    const lock = acquireRunLock(path, "http://127.0.0.1:8080/");
    expect(lock.acquired).toBe(true);
    if (lock.acquired) lock.release();
  });

  test("an unreadable lock file is replaced", () => {
    const path = join(dir, "run.lock");
    writeFileSync(path, "not json");
    const lock = acquireRunLock(path, "http://127.0.0.1:8080/");
    expect(lock).toMatchObject({ acquired: true });
    if (lock.acquired) lock.release();
  });

  test("release leaves a lock that is no longer ours alone", () => {
    const path = join(dir, "run.lock");
    const lock = acquireRunLock(path, "http://127.0.0.1:8080/");
    writeFileSync(path, record(deadPid(), null));
    if (lock.acquired) lock.release();
    expect(existsSync(path)).toBe(true);
  });

  test("supervisors racing for a stale lock: exactly one wins", async () => {
    const path = join(dir, "run.lock");
    writeFileSync(path, record(deadPid(), null));
    const script = `
      import { acquireRunLock } from ${JSON.stringify(join(import.meta.dirname, "../src/run-lock.ts"))};
      const lock = acquireRunLock(${JSON.stringify(path)}, "http://127.0.0.1:8080/");
      process.stdout.write(lock.acquired ? "won" : "lost:" + lock.holder.pid);
      setTimeout(() => { if (lock.acquired) lock.release(); }, 1500);
    `;
    const outputs = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
              stdio: ["ignore", "pipe", "inherit"],
            });
            let out = "";
            child.stdout.on("data", (chunk: Buffer) => {
              out += chunk.toString();
            });
            child.once("error", reject);
            child.once("exit", () => resolve(out));
          }),
      ),
    );
    expect(outputs.filter((out) => out === "won")).toHaveLength(1);
    expect(outputs.filter((out) => out.startsWith("lost:"))).toHaveLength(5);
  }, 60_000);

  test("the default lock is per user and dashboard port", () => {
    expect(defaultRunLockPath(8080)).not.toBe(defaultRunLockPath(8081));
    expect(defaultRunLockPath(8080)).toMatch(/adpipe-start-.+-8080\.lock$/);
  });
});
