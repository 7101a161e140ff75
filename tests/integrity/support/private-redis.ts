import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { freePort } from "../../support/ports.js";
import { registerSecret } from "./secrets.js";
import { eventually } from "./wait.js";

/**
 * A redis-server of the suite's own (the machine's binary) on a free port, without persistence and with a
 * password, so it can be killed and restarted empty without touching the shared server.
 */
export class PrivateRedis {
  private process: ChildProcess | null = null;
  private output = "";
  readonly password = registerSecret("private Redis password", `redis-${randomBytes(12).toString("hex")}`);

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.launch();
    return redis;
  }

  get url(): string {
    return registerSecret("private REDIS_URL", `redis://:${this.password}@127.0.0.1:${this.port}`);
  }

  private async launch(): Promise<void> {
    const child = spawn(
      process.env.INTEGRITY_REDIS_SERVER ?? "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        this.password,
        "--daemonize",
        "no",
        "--dir",
        "/tmp",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4_000);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4_000);
    });
    this.process = child;
    const probe = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on("error", () => undefined);
    try {
      await eventually(
        `private redis-server on ${this.port} answers`,
        async () => {
          if (child.exitCode !== null) throw new Error(`redis-server exited: ${this.output}`);
          if (probe.status !== "ready") await probe.connect().catch(() => undefined);
          return (await probe.ping()) === "PONG";
        },
        20_000,
        100,
      );
    } finally {
      probe.disconnect();
    }
  }

  /** SIGKILL: the data is gone (no persistence). */
  async kill(): Promise<void> {
    const child = this.process;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.process = null;
  }

  /** Starts again on the same port, empty. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}
