import type { TrackerService } from "@adpipe/budget-tracker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiBench, call, READ_TOKEN, startApiBench, startBenchTracker, WRITE_TOKEN } from "./harness.js";

interface Serving {
  known: boolean;
  can_serve: boolean;
  reason: string | null;
  net_micros: number | null;
  gross_micros: number | null;
  budget_micros: number | null;
  mode: string | null;
  over_cap_micros: number | null;
  clicks: number | null;
}

const ID = "capped-co";

/**
 * End to end through the real pieces: a mode set with PUT /budget travels as budget_mode through Kafka to the
 * budget-tracker, whose Lua bills by the clamp; the API's lookup then shows the mode and the spend over the cap.
 */
describe("a budget mode set through the API reaches the tracker's hash and the API's answers", () => {
  let bench: ApiBench;
  let tracker: TrackerService;

  const serving = async () =>
    (await call<Serving>(bench.baseUrl, "GET", `/v1/advertisers/${ID}/serving`, { token: READ_TOKEN })).body;
  const eventually = (check: (s: Serving) => boolean, what: string) =>
    expect
      .poll(async () => check(await serving()), { timeout: 20_000, interval: 100, message: what })
      .toBe(true);
  const click = (id: string, amount: string) => ({
    event_type: "ad_click",
    click_id: id,
    advertiser: "Capped Co",
    advertiser_id: ID,
    ad_id: "ad-1",
    amount,
    timestamp: new Date().toISOString(),
  });
  const put = (body: unknown) =>
    call<{ old_mode: string | null; new_mode: string | null }>(
      bench.baseUrl,
      "PUT",
      `/v1/advertisers/${ID}/budget`,
      { body, token: WRITE_TOKEN },
    );

  beforeAll(async () => {
    bench = await startApiBench("mode-flow", { partitions: 2 });
    tracker = await startBenchTracker(bench, "mode-flow");
  });
  afterAll(async () => {
    await tracker?.stop();
    await bench?.close();
  });

  it("bills a hard_cap advertiser up to its budget, shows the rest as over cap, and switches back", async () => {
    const set = await put({ amount: "1.00", mode: "hard_cap", advertiser: "Capped Co" });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ old_mode: null, new_mode: "hard_cap" });
    await eventually(
      (s) => s.known && s.mode === "hard_cap" && s.budget_micros === 1_000_000,
      "hard_cap applied",
    );

    const clicks = await call<{ accepted: string[] }>(bench.baseUrl, "POST", "/v1/clicks", {
      body: [click("cap-1", "0.40"), click("cap-2", "0.40"), click("cap-3", "0.40")],
      token: WRITE_TOKEN,
    });
    expect(clicks.body.accepted).toHaveLength(3);
    await eventually((s) => s.clicks === 3, "three clicks applied");
    // 1.20 of clicks against 1.00: the third click is split at the budget (0.20 billable, 0.20 over the cap).
    expect(await serving()).toMatchObject({
      can_serve: false,
      reason: "budget_exhausted",
      net_micros: 1_000_000,
      gross_micros: 1_200_000,
      over_cap_micros: 200_000,
      mode: "hard_cap",
    });

    // Back to observe with the same budget: later clicks are billed in full again.
    const back = await put({ amount: "1.00", mode: "observe" });
    expect(back.body).toMatchObject({ old_mode: "hard_cap", new_mode: "observe" });
    await eventually((s) => s.mode === "observe", "observe applied");
    await call(bench.baseUrl, "POST", "/v1/clicks", { body: click("cap-4", "0.10"), token: WRITE_TOKEN });
    await eventually((s) => s.clicks === 4, "the fourth click applied");
    expect(await serving()).toMatchObject({
      net_micros: 1_100_000,
      over_cap_micros: 200_000,
      mode: "observe",
    });

    // A budget change without a mode keeps the mode in force.
    expect((await put({ amount: "2.00" })).body).toMatchObject({ old_mode: "observe", new_mode: null });
    await eventually((s) => s.budget_micros === 2_000_000, "budget 2.00 applied");
    expect((await serving()).mode).toBe("observe");
  });
});
