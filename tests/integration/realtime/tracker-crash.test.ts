import { setTimeout as sleep } from "node:timers/promises";
import { Oracle } from "@adpipe/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../support/index.js";
import { spawnTracker, type TrackerProcess } from "./support/child.js";
import { eventually, produceRecords, trackerEnv, waitCaughtUp } from "./support/harness.js";
import { redisDiffFromOracle, useRealtimePipeline } from "./support/pipeline.js";
import { generated } from "./support/stream.js";

// The real entry point (services/budget-tracker/src/main.ts) as a child process, killed with SIGKILL in the
// middle of the run several times and restarted; it uses the wall clock, so the stream ends now.

const pipeline = useRealtimePipeline({ name: "rt-crash", partitions: 4, tracker: false });
const children: TrackerProcess[] = [];

// Registered after the fixture's afterAll, so it runs first: no child still consumes when the topic goes.
afterAll(() => {
  for (const child of children) child.child.kill("SIGKILL");
});

/** Sum of the offsets recorded in Redis (how far the tracker got). */
async function progress(): Promise<number> {
  const meta = await pipeline.reader.readMeta();
  return (meta?.offsets ?? []).reduce((sum, { offset }) => sum + offset, 0);
}

describe("budget-tracker killed with SIGKILL mid-run", () => {
  it("is still exact after several kills and restarts", async () => {
    const { topic, reader, prefix } = pipeline;
    const spanMs = 2 * 3_600_000;
    const stream = generated({
      seed: 31,
      events: 24_000,
      advertisers: 40,
      startMs: Date.now() - spanMs,
      spanMs,
    });
    // Info level: the last restart is signalled only once it has logged that it is starting (see the end).
    // Small fetches: a restarted tracker takes over after the session timeout, when most of the stream is in
    // the topic; with the default 4 MiB per partition it applied all of it in one batch and the next round had
    // nothing left to kill it in the middle of.
    const env = {
      ...trackerEnv({ topic: topic.topic, prefix, groupId: uniqueName("rt-crash-group") }),
      LOG_LEVEL: "info",
      TRACKER_MAX_BYTES_PER_PARTITION: "16384",
    };
    const start = () => {
      const child = spawnTracker(env);
      children.push(child);
      return child;
    };

    let current = start();
    // Produce in chunks while the tracker runs, so the kills land in the middle of consumption.
    const producing = (async () => {
      for (let i = 0; i < stream.length; i += 1_000) {
        await produceRecords(topic.kafka, topic.topic, stream.slice(i, i + 1_000));
        await sleep(150);
      }
    })();

    let kills = 0;
    for (let round = 0; round < 3; round++) {
      const before = await progress();
      await eventually("tracker makes progress", async () => (await progress()) > before + 500, 60_000);
      current.child.kill("SIGKILL");
      const exit = await current.exited;
      expect(exit.signal).toBe("SIGKILL");
      kills++;
      current = start();
    }
    await producing;
    await waitCaughtUp(reader, topic.kafka, topic.topic, 90_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${current.output()}`);
    });

    const oracle = new Oracle().observeAll(stream);
    // A budget period may end between the last apply and this check: then the tracker's rollover sweep
    // (every second) catches up, so the comparison is retried for a few seconds.
    expect(await redisDiffFromOracle(reader, oracle, 10_000)).toEqual([]);
    expect(kills).toBe(3);

    // SIGTERM: the batch in flight finishes and the process exits cleanly. The last restart may still be
    // loading (the stream can be applied before it): signal it once its service has begun starting.
    const last = current;
    await eventually("the restarted tracker is starting", async () => last.hasBegunStarting(), 30_000);
    current.child.kill("SIGTERM");
    expect(await current.exited).toEqual({ code: 0, signal: null });
  }, 240_000);
});
