import type { Redis } from "ioredis";
import type pg from "pg";
import { brokerPid, CpuAccount, readProc } from "./proc.js";

/** Pid of the Redis server (INFO server), when it runs on this machine. */
export async function redisPid(redis: Redis): Promise<number | null> {
  const info = await redis.info("server");
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  return Number.isInteger(pid) && (await readProc(pid)) !== null ? pid : null;
}

/** Postgres backend pids of the connections with this application_name. */
export async function backendPids(client: pg.ClientBase, applicationName: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
    [applicationName],
  );
  return rows.map((row) => row.pid);
}

/**
 * CPU seconds of the processes a service leans on while it runs: the Kafka broker, Redis, and the service's
 * own Postgres backends (found by application_name). On a shared machine the broker's and Redis' figures
 * include other clients' work; the backends' are the service's alone.
 */
export class PeerCpu {
  private readonly broker = new CpuAccount();
  private readonly redis = new CpuAccount();
  private readonly backends = new CpuAccount();
  private brokerPidValue: number | null = null;
  private redisPidValue: number | null = null;

  constructor(
    private readonly postgres: pg.ClientBase,
    private readonly redisClient: Redis,
    private readonly applicationName: string | null,
  ) {}

  async start(): Promise<void> {
    this.brokerPidValue = await brokerPid();
    this.redisPidValue = await redisPid(this.redisClient);
    await this.sample();
  }

  /** Call now and then: backends come and go with the pool. */
  async sample(): Promise<void> {
    if (this.brokerPidValue !== null) await this.broker.sample([this.brokerPidValue]);
    if (this.redisPidValue !== null) await this.redis.sample([this.redisPidValue]);
    if (this.applicationName !== null) {
      // New backends count from zero: they were opened by the service under test.
      await this.backends.sample(await backendPids(this.postgres, this.applicationName), true);
    }
  }

  seconds(): { broker: number | null; redis: number | null; postgresBackends: number | null } {
    return {
      broker: this.brokerPidValue === null ? null : this.broker.seconds,
      redis: this.redisPidValue === null ? null : this.redis.seconds,
      postgresBackends: this.applicationName === null ? null : this.backends.seconds,
    };
  }
}
