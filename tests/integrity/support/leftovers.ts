import { Redis } from "ioredis";
import pg from "pg";
import { testServices } from "../../support/index.js";
import { processAlive } from "../../support/processes.js";
import { deleteGroups, suiteKafka } from "./kafka-tools.js";

/**
 * uniqueName/uniqueIdentifier embed the creating process id (base 36) before the time, counter and random
 * suffix. A resource of this suite whose creator is gone was left by a run that was killed (a timeout, ^C):
 * it is removed at the start of the next run. Resources of live processes are never touched.
 */
function creatorAlive(name: string, separator: "-" | "_"): boolean {
  const parts = name.split(separator);
  const pid = Number.parseInt(parts.at(-4) ?? "", 36);
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  return processAlive(pid);
}

export async function removeLeftovers(): Promise<{
  databases: number;
  roles: number;
  topics: number;
  redisKeys: number;
}> {
  const services = testServices();
  const removed = { databases: 0, roles: 0, topics: 0, redisKeys: 0 };
  const client = new pg.Client({ connectionString: services.databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows: databases } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'adpipe\\_integrity\\_%'",
    );
    for (const { datname } of databases) {
      if (creatorAlive(datname, "_")) continue;
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
      removed.databases += 1;
    }
    const { rows: roles } = await client.query<{ rolname: string }>(
      "SELECT rolname FROM pg_roles WHERE rolname LIKE 'integrity\\_%'",
    );
    for (const { rolname } of roles) {
      if (creatorAlive(rolname, "_")) continue;
      await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(rolname)}`).catch(() => undefined);
      removed.roles += 1;
    }
  } finally {
    await client.end();
  }
  const kafka = suiteKafka(services.kafkaBrokers);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter(
      (t) => t.startsWith("integrity-") && !creatorAlive(t, "-"),
    );
    if (topics.length > 0) await admin.deleteTopics({ topics });
    removed.topics = topics.length;
    const { groups } = await admin.listGroups();
    const stale = groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith("integrity-") && !creatorAlive(g, "-"));
    if (stale.length > 0) await deleteGroups(kafka, stale);
  } finally {
    await admin.disconnect();
  }
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 3 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", "test:integrity-*", "COUNT", 1_000);
      cursor = next;
      const stale = keys.filter((key) => !creatorAlive(key.split(":")[1] ?? "", "-"));
      if (stale.length > 0) removed.redisKeys += await redis.unlink(...stale);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return removed;
}
