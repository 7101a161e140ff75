/**
 * A second `npm start` while one runs: the second supervisor, for the same dashboard
 * port, must say "already running (pid …, dashboard …)" and exit 2 before it starts or prints anything else
 * (no banner, no token, no pid of a process that will not run), and the first must keep running untouched.
 * A lock left by a supervisor that was killed outright is taken over by the next one.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { createKafka, deleteTopic } from "@adpipe/kafka";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  deleteRedisPrefix,
  testRedis,
  testServices,
  uniqueName,
  uniqueRedisPrefix,
} from "../../support/index.js";
import { createTestDatabase, type TestDatabase } from "../warehouse/support.js";
import { freePorts, processesWithTopic, type SupervisorRun, startSupervisor } from "./support.js";

let workdir: string;
let database: TestDatabase;
let redis: Redis;
const runs: SupervisorRun[] = [];
const topic = uniqueName("e2e-single");
const otherTopic = uniqueName("e2e-single-2nd");
const prefix = uniqueRedisPrefix("e2e-single");

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "adpipe-e2e-single-"));
  database = await createTestDatabase("e2e_single", { migrate: false });
  redis = testRedis();
}, 60_000);

afterAll(async () => {
  for (const run of runs) if (run.child.exitCode === null) run.child.kill("SIGKILL");
  for (const pid of [...processesWithTopic(topic), ...processesWithTopic(otherTopic)]) {
    process.kill(pid, "SIGKILL");
  }
  await database?.drop();
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  }
  const kafka = createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: testServices().kafkaBrokers.join(",") }));
  for (const name of [topic, otherTopic, `${topic}-alerts`])
    await deleteTopic(kafka, name).catch(() => undefined);
  if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
}, 120_000);

describe("a second supervisor while one runs", () => {
  test("exits 2 with 'already running (pid, dashboard)' before starting or printing anything; a dead holder's lock is taken over", async () => {
    const infra = testServices();
    const apiPort = await freePorts(1);
    const lockFile = join(workdir, "run.lock");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_BROKERS: infra.kafkaBrokers.join(","),
      DATABASE_URL: database.url,
      REDIS_URL: infra.redisUrl,
      LOG_LEVEL: "warn",
      ADPIPE_START_LOCK_FILE: lockFile,
      // The alerter's topic of this test, not the shared broker's ad-budget-alerts.
      ALERT_TOPIC: `${topic}-alerts`,
    };
    const args = (name: string, opsBase: number, state: string) => [
      "--no-start-broker",
      "--no-simulator",
      "--topic",
      name,
      "--partitions",
      "1",
      "--api-port",
      String(apiPort),
      "--ops-port-base",
      String(opsBase),
      "--group-prefix",
      name,
      "--redis-prefix",
      prefix,
      "--state-file",
      join(workdir, state),
      "--ready-timeout",
      "120",
    ];

    const first = startSupervisor(args(topic, await freePorts(4), "first.json"), env);
    runs.push(first);
    const state = await first.waitFor("the first pipeline to be ready", 240_000, async () =>
      existsSync(join(workdir, "first.json"))
        ? (JSON.parse(readFileSync(join(workdir, "first.json"), "utf8")) as {
            dashboardUrl: string;
            children: { pid: number }[];
          })
        : undefined,
    );
    expect(state.dashboardUrl).toBe(`http://127.0.0.1:${apiPort}/`);

    // The second one: other topic, groups and ops ports, same dashboard port.
    const second = startSupervisor(args(otherTopic, await freePorts(4), "second.json"), env);
    runs.push(second);
    const code = await Promise.race([second.exited, sleep(60_000).then(() => "timeout" as const)]);
    expect(code, second.output.join("\n")).toBe(2);
    expect(second.output.join("\n")).toContain(
      `already running (pid ${first.child.pid}, dashboard http://127.0.0.1:${apiPort}/`,
    );
    // Nothing else: no supervisor lines, no banner, no token, no pids of processes that never ran.
    expect(
      second.output.filter((line) => !line.startsWith("adpipe-start:") && !line.startsWith("Stop it")),
    ).toEqual([]);
    expect(second.output.join("\n")).not.toMatch(/token|started ingestor|Dashboard {2,}/i);
    expect(existsSync(join(workdir, "second.json"))).toBe(false);
    expect(processesWithTopic(otherTopic)).toEqual([]);

    // The first one is untouched.
    expect(first.child.exitCode).toBeNull();
    expect((await fetch(`${state.dashboardUrl}healthz`)).status).toBe(200);
    expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ pid: first.child.pid });

    // Killed outright (no clean-up): its lock stays behind, and the next supervisor takes it over.
    first.child.kill("SIGKILL");
    await first.exited;
    for (const pid of processesWithTopic(topic)) process.kill(pid, "SIGKILL");
    await sleep(500);
    expect(existsSync(lockFile)).toBe(true);
    const third = startSupervisor(args(topic, await freePorts(4), "third.json"), env);
    runs.push(third);
    await third.waitFor("the third pipeline to be ready", 240_000, async () =>
      existsSync(join(workdir, "third.json")) ? true : undefined,
    );
    expect(third.output.join("\n")).toContain(
      `took over the run lock of pid ${first.child.pid}, which is no longer running`,
    );
    expect(await third.stop()).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  }, 600_000);
});
