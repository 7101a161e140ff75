import { formatMicros } from "@adpipe/core";
import {
  advertiserTotals,
  dailySpend,
  type GoldRow,
  hourlySpend,
  monthlySpend,
  type SpendRollup,
} from "@adpipe/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGeneratedStream } from "./gold-fixture.js";
import { type ApiBench, call, type JsonResponse, READ_TOKEN, startApiBench } from "./harness.js";

type Row = Record<string, string | number | boolean | null>;
interface PageBody {
  items: Row[];
  limit: number;
  offset: number;
  next_offset: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const money = (micros: number | null) => (micros === null ? null : formatMicros(micros));

describe("reports from the Gold views", () => {
  let bench: ApiBench;
  let gold: GoldRow[];
  /** advertiser_id → display name, as the API lists them. */
  let names: Map<string, string>;

  /** Every page of a report, following next_offset. */
  async function all(path: string, query = ""): Promise<Row[]> {
    const rows: Row[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const res: JsonResponse<PageBody> = await call<PageBody>(
        bench.baseUrl,
        "GET",
        `${path}?limit=37&offset=${offset}${query}`,
        { token: READ_TOKEN },
      );
      expect(res.status, res.text).toBe(200);
      rows.push(...res.body.items);
      offset = res.body.next_offset;
    }
    return rows;
  }

  beforeAll(async () => {
    bench = await startApiBench("reports");
    const fixture = await loadGeneratedStream(bench.db.admin, bench.topic.topic, {
      seed: 7,
      events: 3_000,
      advertisers: 6,
    });
    gold = fixture.oracle.goldRows();
    const advertisers = await call<PageBody>(bench.baseUrl, "GET", "/v1/advertisers?limit=100", {
      token: READ_TOKEN,
    });
    names = new Map(advertisers.body.items.map((a) => [String(a.advertiser_id), String(a.advertiser)]));
  });
  afterAll(async () => {
    await bench?.close();
  });

  it("lists every advertiser of the stream", () => {
    expect([...names.keys()].sort()).toEqual([...new Set(gold.map((row) => row.advertiserId))].sort());
  });

  it("total spend per advertiser equals the oracle to the micro-unit", async () => {
    const rows = await all("/v1/reports/spend/total");
    const byName = new Map(rows.map((row) => [row.advertiser, row]));
    const totals = advertiserTotals(gold);
    expect(rows).toHaveLength(totals.length);
    for (const t of totals) {
      expect(byName.get(names.get(t.advertiserId)!)).toMatchObject({
        total_gross_spend: money(t.grossMicros),
        total_net_spend: money(t.netMicros),
        total_clicks: t.clicks,
        latest_budget_value: money(t.budgetMicros),
        current_serving_status: t.canServe,
      });
    }
  });

  it("monthly, daily and hourly spend equal the oracle's roll-ups", async () => {
    const key = (row: Row, time: string) => `${row.advertiser}|${row[time]}`;
    const check = async (
      path: string,
      time: string,
      rollups: SpendRollup[],
      fields: (r: SpendRollup) => Row,
    ) => {
      const rows = await all(path);
      expect(rows).toHaveLength(rollups.length);
      const byKey = new Map(rows.map((row) => [key(row, time), row]));
      for (const r of rollups) {
        expect(
          byKey.get(`${names.get(r.advertiserId)}|${iso(r.startMs)}`),
          `${path} ${r.advertiserId}`,
        ).toMatchObject(fields(r));
      }
    };
    await check("/v1/reports/spend/monthly", "spend_month", monthlySpend(gold), (r) => ({
      monthly_gross_spend: money(r.grossMicros),
      monthly_net_spend: money(r.netMicros),
      total_clicks: r.clicks,
      budget_value: money(r.budgetMicros),
      can_serve_status: r.canServe,
    }));
    await check("/v1/reports/spend/daily", "spend_day", dailySpend(gold), (r) => ({
      daily_gross_spend: money(r.grossMicros),
      daily_net_spend: money(r.netMicros),
    }));
    await check("/v1/reports/spend/hourly", "spend_hour_start", hourlySpend(gold), (r) => ({
      spend_hour_end: iso(r.startMs + 3_600_000),
      hourly_gross_spend: money(r.grossMicros),
      hourly_net_spend: money(r.netMicros),
    }));
  });

  it("serving status and budget changes follow each advertiser's latest Gold hour", async () => {
    const status = await all("/v1/reports/serving-status");
    const latest = new Map<string, GoldRow>();
    for (const row of gold) {
      const current = latest.get(row.advertiserId);
      if (current === undefined || row.windowStartMs > current.windowStartMs)
        latest.set(row.advertiserId, row);
    }
    expect(status).toHaveLength(latest.size);
    for (const [id, row] of latest) {
      expect(status.find((s) => s.advertiser === names.get(id))).toEqual({
        advertiser: names.get(id),
        latest_hour: iso(row.windowStartMs),
        latest_can_serve: row.canServe,
      });
    }
    const changes = await all("/v1/reports/budget/changes");
    expect(changes.length).toBeGreaterThan(0);
    for (const change of changes) expect(change.budget_value).toMatch(/^\d+\.\d{6}$/);
  });

  it("spend-vs-budget gives 'Spend' and 'Remaining Budget' per advertiser and day", async () => {
    const day = dailySpend(gold)[0]!;
    const name = names.get(day.advertiserId)!;
    const res = await call<PageBody>(
      bench.baseUrl,
      "GET",
      `/v1/reports/spend-vs-budget?advertiser=${encodeURIComponent(name)}&from=${iso(day.startMs)}&to=${iso(day.startMs + 86_400_000)}`,
      { token: READ_TOKEN },
    );
    expect(res.status).toBe(200);
    expect(res.body.items.map((row) => row.category)).toEqual(["Spend", "Remaining Budget"]);
    expect(res.body.items[0]).toMatchObject({
      advertiser: name,
      spend_day: iso(day.startMs),
      amount: money(day.netMicros),
    });
    expect(res.body.items[1]?.amount).toMatch(/^\d+\.\d{6}$/);
  });

  it("budget trend reports the hourly average budget of the filtered advertiser", async () => {
    const first = hourlySpend(gold)[0]!;
    const rows = await all(
      "/v1/reports/budget/trend",
      `&advertiser_id=${encodeURIComponent(first.advertiserId)}`,
    );
    expect(rows.length).toBe(hourlySpend(gold).filter((r) => r.advertiserId === first.advertiserId).length);
    expect(new Set(rows.map((row) => row.advertiser))).toEqual(new Set([names.get(first.advertiserId)]));
  });

  it("filters by advertiser and time range, and pages with limit/offset", async () => {
    const daily = dailySpend(gold);
    const target = daily[daily.length - 1]!;
    const name = names.get(target.advertiserId)!;
    const filtered = await all(
      "/v1/reports/spend/daily",
      `&advertiser=${encodeURIComponent(name)}&from=${iso(target.startMs)}&to=${iso(target.startMs + 86_400_000)}`,
    );
    expect(filtered).toEqual([
      {
        advertiser: name,
        spend_day: iso(target.startMs),
        daily_gross_spend: money(target.grossMicros),
        daily_net_spend: money(target.netMicros),
      },
    ]);
    const byId = await all(
      "/v1/reports/spend/daily",
      `&advertiser_id=${encodeURIComponent(target.advertiserId)}`,
    );
    expect(byId.length).toBe(daily.filter((d) => d.advertiserId === target.advertiserId).length);

    const page = await call<PageBody>(bench.baseUrl, "GET", "/v1/reports/spend/hourly?limit=5&offset=5", {
      token: READ_TOKEN,
    });
    expect(page.body).toMatchObject({ limit: 5, offset: 5, next_offset: 10 });
    expect(page.body.items).toHaveLength(5);
    const whole = await all("/v1/reports/spend/hourly");
    expect(page.body.items).toEqual(whole.slice(5, 10));
    const last = await call<PageBody>(
      bench.baseUrl,
      "GET",
      `/v1/reports/spend/hourly?limit=1000&offset=${whole.length - 2}`,
      { token: READ_TOKEN },
    );
    expect(last.body.items).toHaveLength(2);
    expect(last.body.next_offset).toBeNull();
    const unknown = await call<PageBody>(bench.baseUrl, "GET", "/v1/reports/spend/total?advertiser=nobody", {
      token: READ_TOKEN,
    });
    expect(unknown.body.items).toEqual([]);
  });

  it("rejects bad query parameters with 400s", async () => {
    for (const query of [
      "limit=0",
      "limit=1001",
      "limit=ten",
      "offset=-1",
      "offset=100001",
      "from=yesterday",
      "to=2026-13-01T00:00:00Z",
      "from=2026-11-26T00:00:00Z&to=2026-11-25T00:00:00Z",
      "advertiser_id=a%00b",
      "from=0000-01-01T00:00:00Z",
    ]) {
      const res = await call(bench.baseUrl, "GET", `/v1/reports/spend/daily?${query}`, { token: READ_TOKEN });
      expect(res.status, query).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "bad_request" } });
    }
  });
});
