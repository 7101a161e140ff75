import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  onLine: (name: string, line: string) => void;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child process of the supervisor. It runs in its own process group, so a Ctrl-C at the terminal reaches
 * only the supervisor, which then stops the children in order (producers first) and waits for each.
 */
export class ManagedChild {
  readonly process: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private exit: ChildExit | undefined;
  private stopping = false;

  constructor(readonly spec: ChildSpec) {
    this.process = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    for (const stream of [this.process.stdout, this.process.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) =>
        spec.onLine(spec.name, line),
      );
    }
    this.exited = new Promise<ChildExit>((resolve) => {
      this.process.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.process.once("error", (error) => {
        spec.onLine(spec.name, `could not start: ${error.message}`);
        this.exit = { code: 127, signal: null };
        resolve(this.exit);
      });
    });
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** True once stop() was called: an exit after that is expected. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Sends `signal`, waits up to `graceMs`, then kills the process group. Resolves with the exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 20_000): Promise<ChildExit> {
    this.stopping = true;
    if (this.exit !== undefined) return this.exit;
    this.signal(signal);
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      // Anything the child itself started in its group goes too.
      this.signalGroup("SIGKILL");
    }
  }

  /** Last resort when the supervisor itself is exiting: no waiting. */
  killNow(): void {
    this.stopping = true;
    if (this.exit === undefined) this.signal("SIGKILL");
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.process.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.process.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is empty.
    }
  }
}

/** Runs a command to completion with its output prefixed; resolves with its exit code. */
export async function runToCompletion(spec: ChildSpec): Promise<number> {
  const child = new ManagedChild(spec);
  const exit = await child.exited;
  return exit.code ?? 1;
}
