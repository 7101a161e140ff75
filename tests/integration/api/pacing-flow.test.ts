import type { TrackerService } from "@adpipe/budget-tracker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiBench, call, READ_TOKEN, startApiBench, startBenchTracker, WRITE_TOKEN } from "./harness.js";

interface Serving {
  known: boolean;
  can_serve: boolean;
  reason: string | null;
  pacing: string | null;
  serve_fraction: number | null;
  budget_micros: number | null;
}

const ID = "paced-co";

/**
 * Pacing set with PUT /budget travels as `pacing` on the budget_update event through Kafka to the tracker; the
 * API's serving answer shows it with serve_fraction, and the audit trail records old and new pacing.
 */
describe("pacing set through the API", () => {
  let bench: ApiBench;
  let tracker: TrackerService;

  const serving = async () =>
    (await call<Serving>(bench.baseUrl, "GET", `/v1/advertisers/${ID}/serving`, { token: READ_TOKEN })).body;
  const put = (body: unknown) =>
    call<{ old_pacing: string | null; new_pacing: string | null }>(
      bench.baseUrl,
      "PUT",
      `/v1/advertisers/${ID}/budget`,
      { body, token: WRITE_TOKEN },
    );

  beforeAll(async () => {
    bench = await startApiBench("pacing-flow", { partitions: 2 });
    tracker = await startBenchTracker(bench, "pacing-flow");
  });
  afterAll(async () => {
    await tracker?.stop();
    await bench?.close();
  });

  it("publishes, applies, shows and audits pacing; omitted keeps it; unknown values are refused", async () => {
    const set = await put({ amount: "1000.00", pacing: "even" });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ old_pacing: null, new_pacing: "even" });
    await expect.poll(async () => (await serving()).pacing, { timeout: 20_000, interval: 100 }).toBe("even");
    const state = await serving();
    expect(state.serve_fraction).toBeGreaterThanOrEqual(0);
    expect(state.serve_fraction).toBeLessThanOrEqual(1);
    // Nothing spent: never ahead of pace.
    expect(state).toMatchObject({ can_serve: true, serve_fraction: 1 });

    const keep = await put({ amount: "2000.00" });
    expect(keep.body).toMatchObject({ old_pacing: "even", new_pacing: null });
    await expect
      .poll(async () => (await serving()).budget_micros, { timeout: 20_000, interval: 100 })
      .toBe(2_000_000_000);
    expect((await serving()).pacing).toBe("even");

    const bad = await put({ amount: "1.00", pacing: "fast" });
    expect(bad.status).toBe(400);

    const audit = await call<{ items: { new_pacing: string | null; old_pacing: string | null }[] }>(
      bench.baseUrl,
      "GET",
      `/v1/advertisers/${ID}/budget/audit`,
      { token: READ_TOKEN },
    );
    expect(audit.body.items.map((item) => [item.old_pacing, item.new_pacing])).toEqual([
      ["even", null],
      [null, "even"],
    ]);
  });
});
