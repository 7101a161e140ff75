import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../support/index.js";
import { freeBasePort } from "../../support/ports.js";

const run = promisify(execFile);

/**
 * scripts/redis-cluster.sh records the process a start was made for (REDIS_CLUSTER_OWNER_PID), so a test run stops
 * only the cluster it started: not one another live run started, nor one started by hand.
 */
describe("redis-cluster.sh: the run that started the nodes owns them", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "adpipe-redis-owner-"));
  let basePort = 0;
  // Stand-ins for two test runs: live processes whose pids are recorded as owners.
  const runA = spawn("sleep", ["600"], { stdio: "ignore" });
  const runB = spawn("sleep", ["600"], { stdio: "ignore" });
  const script = (args: string[], owner?: number) =>
    run("bash", [join(REPO_ROOT, "scripts", "redis-cluster.sh"), ...args], {
      env: {
        ...process.env,
        REDIS_CLUSTER_PORT: String(basePort),
        REDIS_CLUSTER_STATE_DIR: stateDir,
        REDIS_CLUSTER_TIMEOUT_SECONDS: "90",
        ...(owner === undefined ? {} : { REDIS_CLUSTER_OWNER_PID: String(owner) }),
      },
      timeout: 120_000,
    });
  const ownedBy = (pid: number | undefined) =>
    script(["owned-by", String(pid)]).then(
      () => true,
      () => false,
    );

  afterAll(async () => {
    runA.kill();
    runB.kill();
    if (basePort > 0) await script(["reset"]).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }, 120_000);

  it("records the starting run, keeps it over a later run's start, hands it over when it exits", async () => {
    basePort = await freeBasePort({
      from: 30_000,
      to: 38_990,
      step: 10,
      portsOf: (base) => Array.from({ length: 6 }, (_, i) => base + i).flatMap((p) => [p, p + 10_000]),
      what: "a private Redis Cluster",
    });
    await script(["start"], runA.pid);
    expect(await ownedBy(runA.pid)).toBe(true);
    expect(await ownedBy(runB.pid)).toBe(false);

    // Another run finds the cluster up: it uses it, but it stays run A's.
    await script(["start"], runB.pid);
    expect(await ownedBy(runA.pid)).toBe(true);
    expect(await ownedBy(runB.pid)).toBe(false);

    // Run A was killed before it could stop the nodes: the next run adopts them.
    runA.kill("SIGKILL");
    await new Promise((resolve) => runA.once("exit", resolve));
    await script(["start"], runB.pid);
    expect(await ownedBy(runB.pid)).toBe(true);

    await script(["stop"]);
    expect(await ownedBy(runB.pid)).toBe(false);
  }, 300_000);

  it("never adopts nodes started by hand (no owner recorded)", async () => {
    await script(["start"]);
    await script(["start"], runB.pid);
    expect(await ownedBy(runB.pid)).toBe(false);
    await script(["stop"]);
  }, 300_000);
});
