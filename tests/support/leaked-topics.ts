import { Kafka, logLevel } from "kafkajs";

/**
 * The local broker keeps its data across restarts (scripts/kafka.sh stop), so a topic a killed test run never
 * deleted would stay for good. uniqueName() embeds the creating process id and the time in base 36
 * (`<prefix>-<pid>-<time>-<counter>-<hex6>`): a topic of that shape whose creator is gone and that is older
 * than `minAgeMs` is a leftover, deleted at the start of the next run. Topics of live processes (another test
 * run, another checkout's tests on a shared broker) and every other topic (ad-clicks, ...) are never touched.
 */
const UNIQUE_NAME = /^[a-z0-9-]+-([0-9a-z]{1,8})-([0-9a-z]{6,10})-[0-9a-z]+-[0-9a-f]{6}$/;

export function isLeakedTestTopic(topic: string, nowMs: number, minAgeMs: number): boolean {
  const match = UNIQUE_NAME.exec(topic);
  if (match === null) return false;
  const pid = Number.parseInt(match[1] ?? "", 36);
  const createdMs = Number.parseInt(match[2] ?? "", 36);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isSafeInteger(createdMs)) return false;
  if (nowMs - createdMs < minAgeMs) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists (another user's): not ours to judge.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Deletes leaked test topics (see isLeakedTestTopic); returns how many. Never fails the run. */
export async function deleteLeakedTestTopics(brokers: string[], minAgeMs = 15 * 60_000): Promise<number> {
  const kafka = new Kafka({
    clientId: "adpipe-test-sweep",
    brokers,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: 1 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const now = Date.now();
    const leaked = (await admin.listTopics()).filter((topic) => isLeakedTestTopic(topic, now, minAgeMs));
    for (let i = 0; i < leaked.length; i += 100) {
      await admin.deleteTopics({ topics: leaked.slice(i, i + 100), timeout: 30_000 });
    }
    return leaked.length;
  } catch {
    return 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
