import { Chart } from "chart.js";
import type { ApiClient, Page, ServingRow } from "./api.js";
import { element } from "./dom.js";
import { decimalToMicros, displayMoney, microsToNumber } from "./money.js";
import { currentPeriod, drawsShape, targetCurve, targetMicros } from "./pace.js";

const SPEND = "#16a37f";
const TARGET = "#3b6fd8";
const BUDGET = "#c2410c";
const MS_PER_HOUR = 3_600_000;
/** Points of the target curve across the period (plus its start and end). */
const TARGET_SAMPLES = 48;

interface HourlyRow {
  spend_hour_start: string | null;
  spend_hour_end: string | null;
  hourly_net_spend: string | null;
}

/**
 * Pace vs target: the cumulative net spend of the advertiser's current period (Gold's hourly spend, then the
 * tracker's live net at now) against its pacing target curve (core's pacingTargetFraction: budget × elapsed
 * fraction for even, the learnt traffic shape for shaped, even while it has none) and its budget (the only limit
 * of asap). x: hours into the period.
 */
export class PaceChart {
  private readonly chart: Chart;
  private readonly caption = element<HTMLElement>("pace-caption");
  private readonly box = element<HTMLElement>("pace-box");
  /** Calls of show so far: an answer that arrives after a later call began is dropped. */
  private calls = 0;

  constructor(private readonly reads: ApiClient) {
    this.chart = new Chart(element<HTMLCanvasElement>("chart-pace"), {
      type: "line",
      data: { datasets: [] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        parsing: false,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { type: "linear", title: { display: true, text: "hours into the period" } },
          y: { beginAtZero: true, ticks: { maxTicksLimit: 6 } },
        },
      },
    });
  }

  private hide(reason: string): void {
    this.box.hidden = true;
    this.caption.textContent = reason;
    this.caption.dataset.pacing = "";
    this.caption.dataset.target = "";
    this.chart.data.datasets = [];
    this.chart.update("none");
  }

  /** Draws the advertiser's current period (null: none in view); a failed read is said in the caption. */
  async show(advertiserId: string | null, s: ServingRow | undefined): Promise<void> {
    const call = ++this.calls;
    try {
      await this.draw(advertiserId, s, Date.now(), () => call === this.calls);
    } catch (error) {
      if (call === this.calls)
        this.hide(`pace unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async draw(
    advertiserId: string | null,
    s: ServingRow | undefined,
    nowMs: number,
    current: () => boolean,
  ): Promise<void> {
    if (advertiserId === null || s === undefined || !s.known)
      return this.hide("no state for this advertiser yet");
    if (s.budget_micros == null) return this.hide("no budget: nothing to pace against");
    const period = currentPeriod(s, nowMs);
    if (period === null) return this.hide("lifetime budget: no period end to pace towards");
    const rows = await this.reads.get<Page<HourlyRow>>("/v1/reports/spend/hourly", {
      advertiser_id: advertiserId,
      from: new Date(period.startMs).toISOString(),
      to: new Date(nowMs).toISOString(),
      limit: "1000",
    });
    if (!current()) return;
    const hours = (ms: number) => (ms - period.startMs) / MS_PER_HOUR;
    const budget = BigInt(s.budget_micros);
    // Cumulative Gold net by the end of each hour, then the tracker's live period net now.
    let sum = 0n;
    const spend = [{ x: 0, y: 0 }];
    for (const row of [...rows.items].sort((a, b) =>
      (a.spend_hour_start ?? "").localeCompare(b.spend_hour_start ?? ""),
    )) {
      sum += decimalToMicros(row.hourly_net_spend);
      const end = Math.min(Date.parse(row.spend_hour_end ?? ""), nowMs);
      if (Number.isFinite(end)) spend.push({ x: hours(end), y: microsToNumber(sum) });
    }
    if (s.net_micros != null) spend.push({ x: hours(nowMs), y: microsToNumber(BigInt(s.net_micros)) });

    const pacing = s.pacing ?? "asap";
    const shape = s.traffic_shape ?? null;
    const shaped = drawsShape(pacing, shape);
    const end = hours(period.endMs);
    const budgetLine = {
      label: "budget",
      data: [
        { x: 0, y: microsToNumber(budget) },
        { x: end, y: microsToNumber(budget) },
      ],
      borderColor: BUDGET,
      borderDash: [6, 4],
      pointRadius: 0,
    };
    const datasets = [
      {
        label: "net spend (cumulative)",
        data: spend,
        borderColor: SPEND,
        backgroundColor: SPEND,
        pointRadius: 2,
      },
      budgetLine,
    ];
    if (pacing !== "asap") {
      const target = targetCurve(pacing, s.budget_micros, period, TARGET_SAMPLES, shape).map((p) => ({
        x: hours(p.atMs),
        y: microsToNumber(BigInt(p.micros)),
      }));
      datasets.splice(1, 0, {
        label: shaped
          ? "target (shaped)"
          : pacing === "shaped"
            ? "target (shaped: no shape yet, even)"
            : "target (even)",
        data: target,
        borderColor: TARGET,
        backgroundColor: TARGET,
        pointRadius: 0,
      });
    }
    this.chart.data.datasets = datasets;
    this.box.hidden = false;
    this.caption.dataset.pacing = pacing;
    this.caption.dataset.target = pacing === "asap" ? "" : shaped ? "shaped" : "even";
    this.caption.dataset.points = String(spend.length);
    const targetNow = BigInt(targetMicros(pacing, s.budget_micros, period, nowMs, shape));
    this.caption.textContent =
      `${pacing} pacing, ${period.kind} from ${new Date(period.startMs).toISOString().slice(0, 16).replace("T", " ")} UTC` +
      (pacing === "asap" ? "" : ` · target now ${displayMoney(targetNow)}`) +
      (s.serve_fraction == null ? "" : ` · serve_fraction ${s.serve_fraction}`);
    this.chart.update("none");
  }
}
