import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));

/** Runs the API's entry point with only `env` and waits for it to exit (bad configuration never listens). */
function runApi(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--conditions", "source", "--import", "tsx", MAIN], {
    env: { PATH: process.env.PATH ?? "", API_PORT: "0", API_HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve) => {
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("the API process exits 2 on bad configuration, like every other service", () => {
  it("an unreadable KAFKA_SSL_CA_FILE (found while building the Kafka connection) exits 2 and names it", async () => {
    const result = await runApi({ KAFKA_BROKERS: "127.0.0.1:1", KAFKA_SSL_CA_FILE: "/nonexistent/ca.pem" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("KAFKA_SSL_CA_FILE");
  }, 40_000);

  it("a bad variable of its own exits 2", async () => {
    const result = await runApi({ API_PUBLIC_READS: "maybe" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("API_PUBLIC_READS");
  }, 40_000);
});
