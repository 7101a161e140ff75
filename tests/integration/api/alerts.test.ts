import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiBench, call, READ_TOKEN, startApiBench, WRITE_TOKEN } from "./harness.js";

// GET /v1/alerts and the per-advertiser thresholds, through the API's least-privilege role (adpipe_api):
// read-token listing with filters and keyset pages, write-token threshold changes that are validated and audited.

interface AlertsPage {
  items: {
    event_id: string;
    advertiser_id: string;
    threshold_pct: number;
    budget_period: string;
    fired_at: string;
    deliveries: { channel: string; state: string; attempts: number }[];
  }[];
  next_before: string | null;
}

let bench: ApiBench;

beforeAll(async () => {
  bench = await startApiBench("alerts");
  // Alerts as the alerter fires them (superuser pool: the API role may not write alerts.fired).
  for (const [i, [advertiser, pct]] of (
    [
      ["acme", 50],
      ["acme", 80],
      ["acme", 100],
      ["globex", 50],
    ] as const
  ).entries()) {
    const { rows } = await bench.db.admin.query<{ event_id: string }>(
      `INSERT INTO alerts.fired (advertiser_id, advertiser, period_id, period_start, period_end, kind, threshold_pct,
                                 period_net_micros, budget_micros, fired_at)
       VALUES ($1, $1, '2026-12-05', '2026-12-05T00:00:00Z', '2026-12-06T00:00:00Z', 'budget_threshold', $2,
               $3, 100000000, '2026-12-05T10:00:00Z'::timestamptz + $4 * interval '1 minute')
       RETURNING event_id::text`,
      [advertiser, pct, pct * 1_000_000, i],
    );
    await bench.db.admin.query(
      `INSERT INTO alerts.outbox (event_id, channel, destination, state, attempts) VALUES ($1, 'kafka', 't', 'delivered', 1)`,
      [rows[0]?.event_id],
    );
  }
}, 120_000);

afterAll(async () => {
  await bench?.close();
});

describe("GET /v1/alerts", () => {
  it("needs a read token", async () => {
    expect((await call(bench.baseUrl, "GET", "/v1/alerts")).status).toBe(401);
  });

  it("lists alerts newest first with their deliveries, filtered and paged", async () => {
    const all = await call<AlertsPage>(bench.baseUrl, "GET", "/v1/alerts", { token: READ_TOKEN });
    expect(all.status).toBe(200);
    expect(all.body.items.map((a) => [a.advertiser_id, a.threshold_pct])).toEqual([
      ["globex", 50],
      ["acme", 100],
      ["acme", 80],
      ["acme", 50],
    ]);
    expect(all.body.items[0]?.deliveries).toEqual([
      { channel: "kafka", state: "delivered", attempts: 1, last_error: null, delivered_at: null },
    ]);
    expect(all.body.next_before).toBeNull();

    const acme = await call<AlertsPage>(bench.baseUrl, "GET", "/v1/alerts?advertiser_id=acme&limit=2", {
      token: READ_TOKEN,
    });
    expect(acme.body.items.map((a) => a.threshold_pct)).toEqual([100, 80]);
    expect(acme.body.next_before).not.toBeNull();
    const next = await call<AlertsPage>(
      bench.baseUrl,
      "GET",
      `/v1/alerts?advertiser_id=acme&limit=2&before=${encodeURIComponent(acme.body.next_before ?? "")}`,
      { token: READ_TOKEN },
    );
    expect(next.body.items.map((a) => a.threshold_pct)).toEqual([50]);
    expect(next.body.next_before).toBeNull();

    const since = await call<AlertsPage>(bench.baseUrl, "GET", "/v1/alerts?since=2026-12-05T10:02:00Z", {
      token: READ_TOKEN,
    });
    expect(since.body.items.map((a) => a.advertiser_id)).toEqual(["globex", "acme"]);
  });

  it("refuses a limit above the maximum and a malformed cursor", async () => {
    for (const query of ["limit=501", "limit=0", "before=nonsense", "since=yesterday"]) {
      const response = await call(bench.baseUrl, "GET", `/v1/alerts?${query}`, { token: READ_TOKEN });
      expect(response.status, query).toBe(400);
    }
  });
});

describe("PUT /v1/advertisers/{id}/alert-thresholds", () => {
  it("needs a write token, validates, stores sorted, audits, and null restores the default", async () => {
    const path = "/v1/advertisers/acme/alert-thresholds";
    expect(
      (await call(bench.baseUrl, "PUT", path, { body: { thresholds_pct: [90] }, token: READ_TOKEN })).status,
    ).toBe(401);
    for (const bad of [[], [0], [1001], [50, 50], [12.5], "50"]) {
      const response = await call(bench.baseUrl, "PUT", path, {
        body: { thresholds_pct: bad },
        token: WRITE_TOKEN,
      });
      expect(response.status, JSON.stringify(bad)).toBe(400);
    }
    const set = await call<{ thresholds_pct: number[] | null; updated_by: string }>(
      bench.baseUrl,
      "PUT",
      path,
      {
        body: { thresholds_pct: [90, 25, 110] },
        token: WRITE_TOKEN,
      },
    );
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ thresholds_pct: [25, 90, 110], updated_by: "alice" });
    const read = await call<{ thresholds_pct: number[] | null }>(bench.baseUrl, "GET", path, {
      token: READ_TOKEN,
    });
    expect(read.body.thresholds_pct).toEqual([25, 90, 110]);

    const reset = await call<{ thresholds_pct: number[] | null }>(bench.baseUrl, "PUT", path, {
      body: { thresholds_pct: null },
      token: WRITE_TOKEN,
    });
    expect(reset.status).toBe(200);
    expect(reset.body.thresholds_pct).toBeNull();
    // The table refuses what the rule refuses, whoever writes it.
    for (const bad of ["{50,50}", "{80,50}", "{50,NULL}", "{0}"])
      await expect(
        bench.db.admin.query("INSERT INTO alerts.thresholds VALUES ('direct', $1, now(), 'test')", [bad]),
      ).rejects.toThrow(/check constraint/);
    const { rows } = await bench.db.admin.query(
      "SELECT old_thresholds_pct, new_thresholds_pct, actor FROM alerts.threshold_audit WHERE advertiser_id = 'acme' ORDER BY id",
    );
    expect(rows).toEqual([
      { old_thresholds_pct: null, new_thresholds_pct: [25, 90, 110], actor: "alice" },
      { old_thresholds_pct: [25, 90, 110], new_thresholds_pct: null, actor: "alice" },
    ]);
  });
});
