import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatMicros } from "@adpipe/core";
import { advertiserTotals, type SpendRollup } from "@adpipe/core/testing";
import { advertiserKey } from "@adpipe/serving-client";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../services/api/scripts/build-web.js";
import { type ApiBench, call, READ_TOKEN, startApiBench, WRITE_TOKEN } from "../integration/api/harness.js";
import { type PipelineRun, runGeneratedStream } from "../integration/api/pipeline-fixture.js";
import { uniqueName } from "../support/index.js";

/**
 * Drives the dashboard in Debian's headless Chromium (apt-get install -y chromium) through playwright-core:
 * no browser download. The screenshot lands in test-results/ (git-ignored), kept as a CI artifact.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url));
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
  let pipeline: PipelineRun;
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
    pipeline = await runGeneratedStream(bench, { seed: 11, events: 2_000, advertisers: 5 }, groups);
    // The busiest advertiser: its totals are the ones checked on the page.
    const totals = advertiserTotals(pipeline.oracle.goldRows());
    known = totals.reduce((best, t) => (t.grossMicros > best.grossMicros ? t : best));
    const listed = await call<{ items: { advertiser_id: string; advertiser: string }[] }>(
      bench.baseUrl,
      "GET",
      "/v1/advertisers?limit=100",
      { token: READ_TOKEN },
    );
    knownName = listed.body.items.find((a) => a.advertiser_id === known.advertiserId)!.advertiser;

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
    await pipeline?.stop();
    await bench?.close();
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
    // Every advertiser has a row in the live serving table, with the tracker's decision.
    expect(await page.locator("#serving-rows tr").count()).toBe(5);
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
});
