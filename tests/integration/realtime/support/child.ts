import { type ChildProcess, spawn } from "node:child_process";
import { REPO_ROOT } from "../../../support/index.js";

export interface TrackerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stderr and stdout so far (for failure messages). */
  output(): string;
  /** Whether the service has logged that it is starting (needs LOG_LEVEL info): its signal handlers are in. */
  hasBegunStarting(): boolean;
}

/** Runs services/budget-tracker/src/main.ts (the real entry point) as a child process. */
export function spawnTracker(env: Record<string, string>): TrackerProcess {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "services/budget-tracker/src/main.ts"],
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  let begunStarting = false;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
    begunStarting ||= output.includes("starting budget-tracker");
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return { child, exited, output: () => output, hasBegunStarting: () => begunStarting };
}
