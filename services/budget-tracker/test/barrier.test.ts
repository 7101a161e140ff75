import { describe, expect, it } from "vitest";
import { BatchBarrier } from "../src/barrier.js";

/** A promise resolved from outside, to hold work open while the test looks. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every queued microtask and the timers of this turn run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("BatchBarrier", () => {
  it("runs shared work side by side", async () => {
    const barrier = new BatchBarrier();
    const events: string[] = [];
    const a = deferred();
    const b = deferred();
    const first = barrier.shared(async () => {
      events.push("a start");
      await a.promise;
      events.push("a end");
    });
    const second = barrier.shared(async () => {
      events.push("b start");
      await b.promise;
      events.push("b end");
    });
    await settle();
    expect(events).toEqual(["a start", "b start"]);
    b.resolve();
    a.resolve();
    await Promise.all([first, second]);
    expect(events).toEqual(["a start", "b start", "b end", "a end"]);
  });

  it("starts exclusive work only after the shared work in flight, and holds back shared work queued after it", async () => {
    const barrier = new BatchBarrier();
    const events: string[] = [];
    const batch = deferred();
    const sweep = deferred();
    const inFlight = barrier.shared(async () => {
      events.push("batch 1 start");
      await batch.promise;
      events.push("batch 1 end");
    });
    await settle();
    const exclusive = barrier.exclusive(async () => {
      events.push("sweep start");
      await sweep.promise;
      events.push("sweep end");
      return "swept";
    });
    const later = barrier.shared(async () => {
      events.push("batch 2");
    });
    await settle();
    expect(events).toEqual(["batch 1 start"]);
    batch.resolve();
    await settle();
    expect(events).toEqual(["batch 1 start", "batch 1 end", "sweep start"]);
    sweep.resolve();
    await expect(exclusive).resolves.toBe("swept");
    await Promise.all([inFlight, later]);
    expect(events).toEqual(["batch 1 start", "batch 1 end", "sweep start", "sweep end", "batch 2"]);
  });

  it("passes an exclusive failure to its caller and keeps running the work after it", async () => {
    const barrier = new BatchBarrier();
    const failed = barrier.exclusive(async () => {
      throw new Error("rebuild failed");
    });
    const next = barrier.shared(async () => "applied");
    await expect(failed).rejects.toThrow("rebuild failed");
    await expect(next).resolves.toBe("applied");
  });
});
