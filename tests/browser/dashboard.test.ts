import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AlerterService, loadAlerterConfig, startAlerterService } from "@adpipe/alerter";
import { periodsToEvaluate } from "@adpipe/alerts";
import { alertKeyOf, budgetPeriodOf, formatMicros } from "@adpipe/core";
import { advertiserTotals, type SpendRollup } from "@adpipe/core/testing";
import { advertiserKey } from "@adpipe/serving-client";
import pg from "pg";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../services/api/scripts/build-web.js";
import { displayMoney } from "../../services/api/web/src/money.js";
import { naturalSort } from "../../services/api/web/src/order.js";
import { type ApiBench, call, READ_TOKEN, startApiBench, WRITE_TOKEN } from "../integration/api/harness.js";
import { type PipelineRun, runGeneratedStream } from "../integration/api/pipeline-fixture.js";
import {
  createTestTopic,
  type TestTopic,
  testServices,
  uniqueIdentifier,
  uniqueName,
} from "../support/index.js";

/**
 * Drives the dashboard in Debian's headless Chromium (apt-get install -y chromium) through playwright-core:
 * no browser download. The screenshot lands in test-results/ (git-ignored), kept as a CI artifact.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url));
/** Advertisers of the generated stream: more than the budget trend's eight lines, names up to "Advertiser 12". */
const ADVERTISERS = 12;
/**
 * A fixed-offset zone where it is now between 12:00 and 13:00: the stream's six hours before now fall within
 * its current day at any UTC time of day (right after UTC midnight the UTC day would hold almost no spend, and
 * the alert steps need spend in the current period). Etc/GMT zones invert the sign: Etc/GMT-5 is UTC+5.
 */
function middayTimeZone(nowMs: number): string {
  const offsetHours = 12 - new Date(nowMs).getUTCHours();
  if (offsetHours === 0) return "UTC";
  return offsetHours > 0 ? `Etc/GMT-${offsetHours}` : `Etc/GMT+${-offsetHours}`;
}
/** BUDGET_TIME_ZONE of every service the test starts (ingestor, tracker, alerter) and of its period checks. */
const BUDGET_TIME_ZONE = middayTimeZone(Date.now());
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

describe("Advertiser Spend Overview in a real browser", () => {
  let bench: ApiBench;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  let known: SpendRollup;
  let knownName: string;
  let listedAdvertisers: { advertiser_id: string; advertiser: string }[];
  let pipeline: PipelineRun;
  let alerter: AlerterService | undefined;
  let alertsTopic: TestTopic | undefined;
  /** The alerter logs in as a member of adpipe_alerter only (migration 0017's least-privilege grants). */
  const alerterRole = uniqueIdentifier("browser_alerter");
  let alerterRoleCreated = false;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH)`,
      );
    }
    await buildDashboard();
    const groups = { ingestor: uniqueName("browser-ingestor"), tracker: uniqueName("browser-tracker") };
    bench = await startApiBench("browser", {
      partitions: 3,
      env: { API_DASHBOARD_REFRESH_MS: "1000", API_LAG_GROUPS: `${groups.ingestor},${groups.tracker}` },
    });
    // The generated stream goes through Kafka into the real ingestor (Gold) and budget-tracker (Redis).
    pipeline = await runGeneratedStream(
      bench,
      { seed: 11, events: 2_000, advertisers: ADVERTISERS },
      groups,
      BUDGET_TIME_ZONE,
    );
    // The busiest advertiser: its totals are the ones checked on the page.
    const totals = advertiserTotals(pipeline.oracle.goldRows());
    known = totals.reduce((best, t) => (t.grossMicros > best.grossMicros ? t : best));
    const listed = await call<{ items: { advertiser_id: string; advertiser: string }[] }>(
      bench.baseUrl,
      "GET",
      "/v1/advertisers?limit=100",
      { token: READ_TOKEN },
    );
    listedAdvertisers = listed.body.items;
    knownName = listed.body.items.find((a) => a.advertiser_id === known.advertiserId)!.advertiser;

    // The alerter, once the stream is in: its first pass sees the stream's final budgets, so it fires exactly
    // the oracle's alerts (budgets moved during the stream; an alerter running meanwhile could fire more).
    alertsTopic = await createTestTopic("browser-alerts", 3);
    await bench.db.admin.query(
      `CREATE ROLE ${pg.escapeIdentifier(alerterRole)} LOGIN IN ROLE adpipe_alerter`,
    );
    alerterRoleCreated = true;
    const alerterUrl = new URL(bench.db.adminUrl);
    alerterUrl.username = alerterRole;
    alerterUrl.password = "";
    alerter = await startAlerterService(
      loadAlerterConfig({
        DATABASE_URL: alerterUrl.toString(),
        KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
        ALERT_TOPIC: alertsTopic.topic,
        ALERT_EVALUATE_INTERVAL_MS: "250",
        ALERT_DISPATCH_INTERVAL_MS: "100",
        BUDGET_PERIOD: "day",
        BUDGET_TIME_ZONE,
        MIGRATE_ON_START: "false",
        OPS_PORT: "0",
        OPS_HOST: "127.0.0.1",
        LOG_LEVEL: "error",
      }),
    );

    profileDir = await mkdtemp(join(tmpdir(), "adpipe-chromium-"));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1300 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  });

  afterAll(async () => {
    await context?.close();
    if (profileDir !== undefined) await rm(profileDir, { recursive: true, force: true });
    await alerter?.stop();
    await alertsTopic?.delete();
    await pipeline?.stop();
    await bench?.close();
    if (alerterRoleCreated) {
      // After the bench's database is dropped, nothing is granted to the role any more.
      const root = new pg.Client({ connectionString: testServices().databaseUrl });
      await root.connect();
      await root.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(alerterRole)}`).finally(() => root.end());
    }
  });

  it("shows the right totals for a known advertiser after a generated stream, and saves a screenshot", async () => {
    // Reads need a token (issue 14): the URL `npm start` prints logs the browser in through the fragment,
    // and the page moves the token to sessionStorage and out of the address bar at once.
    await page.goto(`${bench.baseUrl}/#token=${READ_TOKEN}`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("body[data-ready='true']", { timeout: 30_000 });
    expect(page.url()).toBe(`${bench.baseUrl}/`);
    expect(await page.evaluate("sessionStorage.getItem('adpipe.readToken')")).toBe(READ_TOKEN);
    expect(await page.isHidden("#token-box")).toBe(true);
    // All advertisers: the KPI sums every advertiser's total.
    const everyone = await page.getAttribute("#kpi-gross", "data-exact");
    expect(everyone).toMatch(/^\d+\.\d{6}$/);

    await page.selectOption("#filter-advertiser", knownName);
    await expect
      .poll(() => page.getAttribute("#kpi-gross", "data-exact"), { timeout: 15_000, interval: 200 })
      .toBe(formatMicros(known.grossMicros));
    expect(await page.getAttribute("#kpi-net", "data-exact")).toBe(formatMicros(known.netMicros));
    expect(await page.textContent("#kpi-clicks")).toBe(String(known.clicks));
    expect(await page.getAttribute("#kpi-budget", "data-exact")).toBe(
      known.budgetMicros === null ? "" : formatMicros(known.budgetMicros),
    );

    // The charts were drawn and the donut names the advertiser and its latest day.
    for (const id of ["chart-total", "chart-monthly", "chart-budget", "chart-donut"]) {
      const width = Number(await page.getAttribute(`#${id}`, "width"));
      expect(width, id).toBeGreaterThan(0);
    }
    expect(await page.textContent("#donut-caption")).toContain(knownName);
    // The serving table honours the filter: the picked advertiser's row only, with the tracker's decision.
    expect(await page.locator("#serving-rows tr").count()).toBe(1);
    const expected = pipeline.oracle
      .servingStateAt(Date.now())
      .find((s) => s.advertiserId === known.advertiserId)!;
    const row = page.locator(`#serving-rows tr[data-advertiser-id="${known.advertiserId}"] td`);
    expect(await row.nth(2).textContent()).toBe(expected.canServe ? "serving" : "stopped");
    expect(await row.nth(3).textContent()).toBe(expected.reason ?? "");
    // Where the budget in force came from (api, budget_update or click).
    expect(await row.nth(6).textContent()).toBe(expected.budgetSource ?? "—");
    // The budget mode in force (every advertiser of this stream is in observe, nothing over a cap).
    expect(await row.nth(7).textContent()).toBe(expected.mode);
    expect(await page.textContent("#health-rate")).toMatch(/events\/s/);
    // Both consumers committed everything: lag 0 (the tracker commits to Kafka after each batch).
    await expect
      .poll(() => page.textContent("#health-lag"), { timeout: 15_000 })
      .toMatch(/browser-ingestor-\S+: 0/);

    // A pause through the API flips the row live (changes stream), with the time of the flip.
    await expect.poll(() => page.textContent("#serving-caption"), { timeout: 10_000 }).toContain("streaming");
    expect(await row.nth(8).textContent()).toBe("—");
    expect(await row.nth(9).textContent()).not.toBe("—");
    const paused = await call(
      bench.baseUrl,
      "POST",
      `/v1/advertisers/${encodeURIComponent(known.advertiserId)}/pause`,
      {
        body: { note: "browser test" },
        token: WRITE_TOKEN,
      },
    );
    expect(paused.status).toBe(200);
    await expect.poll(() => row.nth(3).textContent(), { timeout: 10_000 }).toBe("paused");
    expect(await row.nth(2).textContent()).toBe("stopped");
    expect(await row.nth(8).textContent()).not.toBe("—");

    // A hard_cap advertiser with spend beyond its cap: the mode and the over_cap amount, from the tracker's hash.
    await bench.redis.hset(advertiserKey(known.advertiserId, bench.prefix), {
      mode: "hard_cap",
      over_cap_micros: "1234567",
    });
    await expect.poll(() => row.nth(7).textContent(), { timeout: 10_000 }).toBe("hard_cap (1.23 over cap)");

    await mkdir(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: join(RESULTS_DIR, "dashboard.png"), fullPage: true });
    expect(problems).toEqual([]);
  });

  it("shows a detected topic reset in red until it is cleared", async () => {
    expect(await page.isHidden("#health-reset")).toBe(true);
    await bench.db.admin.query(
      `INSERT INTO ingest.topic_reset_detections
         (service, consumer, topic, "partition", stored_offset, log_start_offset, log_end_offset, reason)
       VALUES ('ingestor', 'g', $1, 0, 5259, 0, 255, 'offset_beyond_log_end')`,
      [bench.topic.topic],
    );
    try {
      await expect
        .poll(() => page.textContent("#health-reset"), { timeout: 15_000, interval: 200 })
        .toContain("stored 5259 > end 255");
      expect(await page.isVisible("#health-reset")).toBe(true);
      const background = await page.evaluate(
        "getComputedStyle(document.querySelector('#health-reset')).backgroundColor",
      );
      expect(background).toBe("rgb(185, 28, 28)");
      expect(await page.getAttribute("#health-reset", "title")).toContain("adpipe offsets reset");
    } finally {
      await bench.db.admin.query("DELETE FROM ingest.topic_reset_detections WHERE topic = $1", [
        bench.topic.topic,
      ]);
    }
    await expect.poll(() => page.isHidden("#health-reset"), { timeout: 15_000, interval: 200 }).toBe(true);
    expect(problems).toEqual([]);
  });
  it("orders advertisers naturally; with none picked the donut, the table and the trend cover them all", async () => {
    await page.selectOption("#filter-advertiser", "");
    const names = [...new Set(listedAdvertisers.map((a) => a.advertiser))];
    // "Advertiser 2" before "Advertiser 10": the filter lists names in natural order.
    const options = await page.$$eval("#filter-advertiser option", (list) =>
      list.map((o) => o.getAttribute("value") ?? ""),
    );
    expect(options).toEqual(["", ...naturalSort(names, (n) => n)]);
    const numbered = options.flatMap((o) => {
      const match = /^Advertiser (\d+)$/.exec(o);
      return match === null ? [] : [Number(match[1])];
    });
    expect(numbered.some((n) => n >= 10) && numbered.some((n) => n < 10)).toBe(true);
    expect(numbered).toEqual([...numbered].sort((a, b) => a - b));

    // No advertiser picked: every advertiser has a row in the serving table, in the same order.
    await expect
      .poll(() => page.locator("#serving-rows tr").count(), { timeout: 15_000, interval: 200 })
      .toBe(listedAdvertisers.length);
    const rowNames = await page.$$eval("#serving-rows tr td:first-child", (cells) =>
      cells.map((c) => c.textContent ?? ""),
    );
    expect(rowNames).toEqual(naturalSort(rowNames, (n) => n));

    // The donut shows all advertisers: their spend of the latest day, exactly the oracle's sum.
    const gold = pipeline.oracle.goldRows();
    const latestDay = Math.max(...gold.map((r) => r.spendDayMs));
    const daySpend = gold.filter((r) => r.spendDayMs === latestDay).reduce((sum, r) => sum + r.netMicros, 0);
    const dayAdvertisers = new Set(gold.filter((r) => r.spendDayMs === latestDay).map((r) => r.advertiserId))
      .size;
    await expect
      .poll(() => page.textContent("#donut-caption"), { timeout: 15_000, interval: 200 })
      .toBe(`all advertisers, ${new Date(latestDay).toISOString().slice(0, 10)}`);
    expect(await page.getAttribute("#donut-caption", "data-spend")).toBe(formatMicros(daySpend));
    expect(Number(await page.getAttribute("#donut-caption", "data-advertisers"))).toBe(dayAdvertisers);

    // The budget-trend legend names every line: all advertisers when they fit, else seven and "others (n)".
    const plotted = Number(await page.getAttribute("#trend-caption", "data-advertisers"));
    expect(plotted).toBeGreaterThan(8);
    expect(await page.getAttribute("#trend-caption", "data-series")).toBe("8");
    expect(await page.textContent("#trend-caption")).toMatch(/others: sum of /);
    await page.screenshot({ path: join(RESULTS_DIR, "dashboard-all.png"), fullPage: true });
    expect(problems).toEqual([]);
  });

  it("sets a budget, mode, pacing and calendar, pauses and resumes from the advertiser's page, with its audit and alerts", async () => {
    // The alerter's passes after the stream: exactly the oracle's alerts of the periods it evaluates.
    const periods = periodsToEvaluate(Date.now(), "day", BUDGET_TIME_ZONE, 1);
    const expectedAlerts = periods.flatMap((w) => pipeline.oracle.alertsAt(w.startMs));
    expect(expectedAlerts.length).toBeGreaterThan(0);
    const firedKeys = async () => {
      const answer = await call<{
        items: { advertiser_id: string; budget_period: string; kind: string; threshold_pct: number }[];
      }>(bench.baseUrl, "GET", "/v1/alerts?limit=500", { token: READ_TOKEN });
      return answer.body.items
        .map((a) =>
          alertKeyOf({
            advertiserId: a.advertiser_id,
            periodId: a.budget_period,
            kind: a.kind as "budget_threshold",
            thresholdPct: a.threshold_pct,
          }),
        )
        .sort();
    };
    await expect
      .poll(firedKeys, { timeout: 20_000, interval: 250 })
      .toEqual(expectedAlerts.map(alertKeyOf).sort());

    // Another advertiser, alone with its name, with spend this period and no alert yet: the page's changes
    // below are what make its alerts fire.
    const alerted = new Set(expectedAlerts.map((a) => a.advertiserId));
    const spending = new Set(
      pipeline.oracle
        .servingStateAt(Date.now())
        .filter((s) => s.netMicros >= 2)
        .map((s) => s.advertiserId),
    );
    const other = naturalSort(
      listedAdvertisers.filter(
        (a) =>
          a.advertiser_id !== known.advertiserId &&
          !alerted.has(a.advertiser_id) &&
          spending.has(a.advertiser_id) &&
          listedAdvertisers.filter((b) => b.advertiser === a.advertiser).length === 1,
      ),
      (a) => a.advertiser,
    )[0]!;
    expect(other).toBeDefined();
    const encodedId = encodeURIComponent(other.advertiser_id);
    await page.selectOption("#filter-advertiser", "");
    // The advertiser's name in the serving table opens its page.
    await page.click(`#serving-rows tr[data-advertiser-id="${other.advertiser_id}"] button.link`);
    await expect
      .poll(() => page.textContent("#act-caption"), { timeout: 15_000, interval: 200 })
      .toBe(`${other.advertiser} (${other.advertiser_id})`);
    expect(await page.inputValue("#filter-advertiser")).toBe(other.advertiser);
    expect(await page.locator("#serving-rows tr").count()).toBe(1);
    // One id carries this name: no id to choose.
    expect(await page.isHidden("#act-id-box")).toBe(true);
    const servingRow = page.locator(`#serving-rows tr[data-advertiser-id="${other.advertiser_id}"] td`);

    // Without a write token the controls are off, with a hint.
    expect(await page.isDisabled("#act-set-budget")).toBe(true);
    expect(await page.isDisabled("#act-pause")).toBe(true);
    expect(await page.isVisible("#act-hint")).toBe(true);
    const auditTrail = () =>
      call<{ items: { action: string; actor: string; source: string }[] }>(
        bench.baseUrl,
        "GET",
        `/v1/advertisers/${encodedId}/budget/audit`,
        { token: READ_TOKEN },
      );
    const auditBefore = (await auditTrail()).body.items.length;

    // A read token is not a write token: the API's 401 is shown as it came, and nothing is audited.
    await page.fill("#write-token", READ_TOKEN);
    expect(await page.isDisabled("#act-set-budget")).toBe(false);
    expect(await page.isHidden("#act-hint")).toBe(true);
    await page.fill("#act-amount", "1000000000");
    await page.click("#act-set-budget");
    await expect
      .poll(() => page.textContent("#act-error"), { timeout: 10_000, interval: 100 })
      .toContain("401 refused: the bearer token is not valid");
    expect(await page.evaluate("location.href")).toBe(`${bench.baseUrl}/`);
    expect((await auditTrail()).body.items).toHaveLength(auditBefore);

    // The write token: a large budget in observe. The tracker applies it: serving, source api; audited.
    await page.fill("#write-token", WRITE_TOKEN);
    expect(await page.evaluate("sessionStorage.getItem('adpipe.writeToken')")).toBe(WRITE_TOKEN);
    expect(page.url()).not.toContain(WRITE_TOKEN);
    await page.fill("#act-amount", "1000000000");
    await page.selectOption("#act-mode", "observe");
    await page.click("#act-set-budget");
    await expect
      .poll(() => page.textContent("#act-result"), { timeout: 10_000, interval: 100 })
      .toMatch(/^budget 1000000000\.000000 per day, mode observe sent \(audit \d+\)/);
    expect(await page.isHidden("#act-error")).toBe(true);
    await expect
      .poll(() => page.getAttribute("#act-budget", "data-exact"), { timeout: 20_000, interval: 200 })
      .toBe("1000000000.000000");
    await expect
      .poll(() => page.getAttribute("#act-serving", "data-can-serve"), { timeout: 10_000 })
      .toBe("true");
    expect(await page.textContent("#act-source")).toBe("api");
    // The tracker's forecast on the tile (refreshed every 10 s): far under such a budget, with the period's spend.
    await expect
      .poll(() => page.textContent("#act-forecast-exhausted"), { timeout: 30_000, interval: 250 })
      .toBe("not this period");
    expect(await page.textContent("#act-forecast-spend")).not.toBe("—");
    // …and on the overview: the forecast tile and the serving table's forecast columns.
    await expect
      .poll(() => page.textContent("#kpi-forecast-exhausted"), { timeout: 10_000 })
      .toBe("runs out: not this period");
    expect(await page.getAttribute("#kpi-forecast", "data-exact")).toMatch(/^\d+\.\d{6}$/);
    expect(await servingRow.nth(12).textContent()).toBe("not this period");
    await expect.poll(() => servingRow.nth(2).textContent(), { timeout: 10_000 }).toBe("serving");
    const top = page.locator("#audit-rows tr").first();
    await expect
      .poll(() => top.getAttribute("data-new-budget"), { timeout: 10_000 })
      .toBe("1000000000.000000");
    expect(await top.getAttribute("data-action")).toBe("set_budget");
    const topCells = top.locator("td");
    expect(await topCells.nth(3).textContent()).toMatch(/→ observe$/);
    expect(await topCells.nth(6).textContent()).toBe("alice");
    expect(await topCells.nth(7).textContent()).toBe("dashboard");
    // The alerts list follows the advertiser in view: it has none (its budget is far above its spend).
    expect(await page.isVisible("#alerts-card")).toBe(true);
    await expect.poll(() => page.textContent("#alerts-caption"), { timeout: 10_000 }).toBe("none");
    expect(await page.locator("#alerts-list li").count()).toBe(0);

    // Below the period's spend, in hard_cap: the tracker stops serving (budget_exhausted; no_budget for 0).
    const state = await call<{ net_micros: number }>(
      bench.baseUrl,
      "GET",
      `/v1/advertisers/${encodedId}/serving`,
      { token: READ_TOKEN },
    );
    const low = state.body.net_micros >= 2 ? Math.floor(state.body.net_micros / 2) : 0;
    await page.fill("#act-amount", formatMicros(low));
    await page.selectOption("#act-mode", "hard_cap");
    await page.click("#act-set-budget");
    await expect
      .poll(() => page.getAttribute("#act-serving", "data-can-serve"), { timeout: 20_000, interval: 200 })
      .toBe("false");
    expect(await page.textContent("#act-reason")).toBe(low > 0 ? "budget_exhausted" : "no_budget");
    await expect.poll(() => page.textContent("#act-mode-now"), { timeout: 10_000 }).toBe("hard_cap");
    await expect.poll(() => servingRow.nth(2).textContent(), { timeout: 10_000 }).toBe("stopped");
    await expect.poll(() => top.getAttribute("data-new-budget"), { timeout: 10_000 }).toBe(formatMicros(low));
    expect(await topCells.nth(3).textContent()).toBe("observe → hard_cap");

    // The period's net is twice the new budget: the alerter fires 50, 80 and 100 % for this period, against the
    // budget set from the page, and the list shows them (this advertiser's only).
    expect(low).toBeGreaterThan(0);
    const period = budgetPeriodOf(Date.now(), "day", BUDGET_TIME_ZONE).id;
    const alertRows = () =>
      page.$$eval("#alerts-list li", (items) =>
        items.map((li) => ({
          advertiserId: li.getAttribute("data-advertiser-id"),
          kind: li.getAttribute("data-kind"),
          threshold: li.getAttribute("data-threshold-pct"),
          period: li.getAttribute("data-period"),
          text: li.textContent ?? "",
        })),
      );
    await expect
      .poll(
        async () =>
          (await alertRows())
            .filter((r) => r.period === period)
            .map((r) => `${r.kind} ${r.threshold}`)
            .sort(),
        { timeout: 20_000, interval: 200 },
      )
      // The period's net passed the new budget at a click before 80 % of the period: exhausted_early too.
      .toEqual(["budget_threshold 100", "budget_threshold 50", "budget_threshold 80", "exhausted_early 0"]);
    const rows = await alertRows();
    expect(rows.every((r) => r.advertiserId === other.advertiser_id)).toBe(true);
    expect(rows.find((r) => r.kind === "exhausted_early")?.text).toContain(
      `${other.advertiser} · exhausted_early · period ${period}`,
    );
    for (const r of rows.filter((x) => x.period === period && x.kind === "budget_threshold")) {
      expect(r.text).toContain(`${other.advertiser} · budget_threshold ${r.threshold} % · period ${period}`);
      expect(r.text).toContain(`of budget ${displayMoney(BigInt(low))}`);
    }
    expect(await page.textContent("#alerts-caption")).toBe(String(rows.length));

    // A budget the contract refuses: the 400 with the field it names; nothing sent.
    await page.fill("#act-amount", "1.1234567");
    await page.click("#act-set-budget");
    await expect
      .poll(() => page.textContent("#act-error"), { timeout: 10_000, interval: 100 })
      .toBe("400 rejected: amount is not a valid money amount (amount: too_precise)");

    // Serving again, then paused and resumed from the page: can_serve follows, each step audited.
    await page.fill("#act-amount", "1000000000");
    await page.click("#act-set-budget");
    await expect
      .poll(() => page.getAttribute("#act-serving", "data-can-serve"), { timeout: 20_000, interval: 200 })
      .toBe("true");

    // Even pacing with a budget the period's net is ahead of: at this zone's midday the even target (budget ×
    // elapsed fraction, about half) plus the 5 % tolerance is below the net (0.8 of the budget), which is still
    // under the budget: the tracker stops serving for pace, not for the budget. Audited with the pacing set.
    const net = (
      await call<{ net_micros: number }>(bench.baseUrl, "GET", `/v1/advertisers/${encodedId}/serving`, {
        token: READ_TOKEN,
      })
    ).body.net_micros;
    const paced = Math.ceil((net * 5) / 4);
    expect(paced).toBeGreaterThan(net);
    await page.fill("#act-amount", formatMicros(paced));
    await page.selectOption("#act-pacing", "even");
    await page.click("#act-set-budget");
    await expect
      .poll(() => page.textContent("#act-reason"), { timeout: 20_000, interval: 200 })
      .toBe("ahead_of_pace");
    expect(await page.getAttribute("#act-serving", "data-can-serve")).toBe("false");
    await expect.poll(() => page.textContent("#act-pacing-now"), { timeout: 10_000 }).toBe("even");
    await expect.poll(() => servingRow.nth(3).textContent(), { timeout: 10_000 }).toBe("ahead_of_pace");
    await expect.poll(() => top.getAttribute("data-new-pacing"), { timeout: 10_000 }).toBe("even");
    expect(await topCells.nth(4).textContent()).toMatch(/→ even$/);
    // The pace chart: the period's cumulative spend against the even target curve.
    await expect
      .poll(() => page.getAttribute("#pace-caption", "data-pacing"), { timeout: 10_000 })
      .toBe("even");
    expect(await page.isVisible("#chart-pace")).toBe(true);
    expect(await page.textContent("#pace-caption")).toMatch(/^even pacing, day from .* · target now /);
    expect(await page.getAttribute("#pace-caption", "data-target")).toBe("even");
    // Shaped with a learnt shape (written as the tracker's shape refresh writes `_shape`): the API serves it as
    // traffic_shape and the chart's target follows it (a morning shape: the whole budget on target by 06:00).
    await bench.redis.hset(advertiserKey(other.advertiser_id, bench.prefix), {
      pacing: "shaped",
      _shape: Array.from({ length: 24 }, (_, h) => (h < 6 ? 1_000 : 0)).join(","),
    });
    await expect
      .poll(() => page.getAttribute("#pace-caption", "data-target"), { timeout: 10_000 })
      .toBe("shaped");
    expect(await page.getAttribute("#pace-caption", "data-pacing")).toBe("shaped");

    // Back to asap under a large budget, in another time zone: serving again, the new calendar shown and audited
    // (a new calendar restarts the period).
    await page.fill("#act-amount", "1000000000");
    await page.selectOption("#act-pacing", "asap");
    await page.selectOption("#act-period", "day");
    await page.fill("#act-time-zone", "Asia/Kolkata");
    await page.click("#act-set-budget");
    await expect
      .poll(() => page.getAttribute("#act-serving", "data-can-serve"), { timeout: 20_000, interval: 200 })
      .toBe("true");
    await expect
      .poll(() => page.getAttribute("#act-calendar-now", "data-time-zone"), { timeout: 10_000 })
      .toBe("Asia/Kolkata");
    expect(await page.getAttribute("#act-calendar-now", "data-budget-period")).toBe("day");
    await expect.poll(() => top.getAttribute("data-new-time-zone"), { timeout: 10_000 }).toBe("Asia/Kolkata");
    expect(await top.getAttribute("data-new-pacing")).toBe("asap");
    expect(await topCells.nth(5).textContent()).toMatch(/→ day Asia\/Kolkata$/);
    await expect
      .poll(() => page.getAttribute("#pace-caption", "data-pacing"), { timeout: 10_000 })
      .toBe("asap");

    await page.fill("#act-note", "paused from the browser test");
    await page.click("#act-pause");
    await expect
      .poll(() => page.getAttribute("#act-serving", "data-can-serve"), { timeout: 10_000, interval: 100 })
      .toBe("false");
    expect(await page.textContent("#act-reason")).toBe("paused");
    await expect.poll(() => servingRow.nth(3).textContent(), { timeout: 10_000 }).toBe("paused");
    await expect.poll(() => top.getAttribute("data-action"), { timeout: 10_000 }).toBe("pause");
    expect(await topCells.nth(8).textContent()).toBe("paused from the browser test");
    await page.click("#act-resume");
    await expect
      .poll(() => page.getAttribute("#act-serving", "data-can-serve"), { timeout: 10_000, interval: 100 })
      .toBe("true");
    await expect.poll(() => servingRow.nth(2).textContent(), { timeout: 10_000 }).toBe("serving");
    await expect.poll(() => top.getAttribute("data-action"), { timeout: 10_000 }).toBe("resume");

    // The audit as the API lists it: this test's five budget changes, its pause and its resume, newest first.
    const trail = await auditTrail();
    expect(trail.body.items).toHaveLength(auditBefore + 7);
    expect(trail.body.items.slice(0, 7).map((e) => e.action)).toEqual([
      "resume",
      "pause",
      "set_budget",
      "set_budget",
      "set_budget",
      "set_budget",
      "set_budget",
    ]);
    expect(trail.body.items.every((e) => e.actor === "alice" && e.source === "dashboard")).toBe(true);

    // Alerts: listed where the API has GET /v1/alerts, hidden where it has not.
    const described = await call<{ paths: Record<string, unknown> }>(bench.baseUrl, "GET", "/openapi.json");
    expect(await page.isHidden("#alerts-card")).toBe(!Object.hasOwn(described.body.paths, "/v1/alerts"));

    await page.fill("#write-token", "");
    expect(await page.isDisabled("#act-set-budget")).toBe(true);
    expect(await page.evaluate("sessionStorage.getItem('adpipe.writeToken')")).toBeNull();
    await page.screenshot({ path: join(RESULTS_DIR, "dashboard-advertiser.png"), fullPage: true });
    // The browser reports the two refused requests (401, 400) it was meant to get, and nothing else.
    expect(problems.filter((p) => !/status of (400|401)/.test(p))).toEqual([]);
    expect(problems.filter((p) => /status of (400|401)/.test(p))).toHaveLength(2);
  });
});
