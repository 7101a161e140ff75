import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const FIXTURE = fileURLToPath(new URL("./fixtures/slow-start-service.ts", import.meta.url));
const STACKED_FIXTURE = fileURLToPath(new URL("./fixtures/stacked-service.ts", import.meta.url));

function runFixture(
  env: Record<string, string>,
  signalOn: string,
  signal: NodeJS.Signals,
  fixture = FIXTURE,
) {
  const child = spawn(process.execPath, ["--import", "tsx", fixture], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    if (stdout.includes(`${signalOn}\n`) && !child.killed) child.kill(signal);
  });
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
    child.once("exit", (code, exitSignal) => resolve({ code, signal: exitSignal, stdout }));
  });
}

describe("runService: the process lifecycle of every service", () => {
  it("a SIGTERM while the service is still starting stops it gracefully once started (exit 0)", async () => {
    const result = await runFixture({ START_MS: "1500" }, "starting", "SIGTERM");
    expect(result).toEqual({ code: 0, signal: null, stdout: "starting\nstarted\nstopped\n" });
  }, 30_000);

  it("bad configuration found while starting exits 2, like a bad variable; any other start failure exits 1", async () => {
    // No signal is ever sent: the pattern never appears on stdout.
    expect(await runFixture({ START_MS: "10", START_FAILS: "config" }, "never", "SIGTERM")).toMatchObject({
      code: 2,
      stdout: "starting\n",
    });
    expect(await runFixture({ START_MS: "10", START_FAILS: "outage" }, "never", "SIGTERM")).toMatchObject({
      code: 1,
    });
  }, 30_000);

  it("a SIGINT after start stops it gracefully (exit 0)", async () => {
    const result = await runFixture({ START_MS: "10" }, "started", "SIGINT");
    expect(result).toEqual({ code: 0, signal: null, stdout: "starting\nstarted\nstopped\n" });
  }, 30_000);

  it("a SIGTERM while resources are being acquired releases them all in reverse once started (exit 0)", async () => {
    const result = await runFixture(
      { ACQUIRE_MS: "1500" },
      "acquired connection",
      "SIGTERM",
      STACKED_FIXTURE,
    );
    expect(result).toEqual({
      code: 0,
      signal: null,
      stdout: "acquired connection\nacquired consumer\nreleased consumer\nreleased connection\n",
    });
  }, 30_000);

  it("a start failing half-way releases what it acquired before exiting 1", async () => {
    const result = await runFixture(
      { ACQUIRE_MS: "10", CONSUMER_FAILS: "1" },
      "never",
      "SIGTERM",
      STACKED_FIXTURE,
    );
    expect(result).toEqual({ code: 1, signal: null, stdout: "acquired connection\nreleased connection\n" });
  }, 30_000);
});
