import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { AdvertiserPanel, type Selection } from "./advertiser-panel.js";
import { AlertsPanel } from "./alerts-panel.js";
import {
  type AdvertiserRow,
  ApiClient,
  type BudgetTrendRow,
  type CombinedRow,
  type DailyRow,
  type DashboardConfig,
  type GoldStatusRow,
  HttpError,
  type MonthlyRow,
  type Page,
  type PipelineHealth,
  type ServingRow,
  type TotalRow,
} from "./api.js";
import { element } from "./dom.js";
import { renderForecastTile } from "./forecast.js";
import { renderHealth } from "./health.js";
import { hourLabel, monthLabel } from "./labels.js";
import { decimalToMicros, displayMoney, microsToDecimal, microsToNumber } from "./money.js";
import { naturalCompare, naturalSort, type Series, topWithOthers } from "./order.js";
import { readEvents } from "./server-events.js";
import { applyServingChange, renderServing, type ServingChange } from "./serving-table.js";

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

const GROSS = "#3b6fd8";
const NET = "#16a37f";
const REMAINING = "#d0d5dd";
const LINE_COLORS = ["#3b6fd8", "#16a37f", "#c2410c", "#7c3aed", "#0891b2", "#ca8a04", "#db2777"];
const OTHERS_COLOR = "#4b5563";
/** Lines (and donut slices) a chart draws before the rest become one "others" series: the legend names each. */
const MAX_SERIES = LINE_COLORS.length + 1;
const PAGE = "1000";
/** Budget-trend pages read at most (7 days × 24 hours × ~60 advertisers); beyond, the caption says so. */
const TREND_MAX_PAGES = 10;
const DAY_MS = 86_400_000;

const ui = {
  advertiser: element<HTMLSelectElement>("filter-advertiser"),
  month: element<HTMLSelectElement>("filter-month"),
  day: element<HTMLInputElement>("filter-day"),
  tokenBox: element<HTMLLabelElement>("token-box"),
  token: element<HTMLInputElement>("token"),
  error: element<HTMLParagraphElement>("error"),
  updated: element<HTMLSpanElement>("updated"),
  donutCaption: element<HTMLElement>("donut-caption"),
  trendCaption: element<HTMLElement>("trend-caption"),
  servingCaption: element<HTMLElement>("serving-caption"),
};

const TOKEN_KEY = "adpipe.readToken";

/**
 * `/#token=…` (the dashboard URL `npm start` prints) logs the browser in: the token moves to sessionStorage
 * (this tab only, gone when it closes) and leaves the address bar and the history at once. A fragment is never
 * sent to a server, not even in a Referer.
 */
function takeTokenFromFragment(): void {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const token = fragment.get("token");
  if (token === null) return;
  if (token.trim() !== "") sessionStorage.setItem(TOKEN_KEY, token.trim());
  fragment.delete("token");
  const rest = fragment.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${rest === "" ? "" : `#${rest}`}`);
}
takeTokenFromFragment();
ui.token.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
const api = new ApiClient(() => ui.token.value.trim());
const panel = new AdvertiserPanel(
  api,
  (token) => new ApiClient(token),
  () => void tick(),
);
const alerts = new AlertsPanel(api);

function chart(id: string, type: "bar" | "line" | "doughnut", stacked = false): Chart {
  const canvas = element<HTMLCanvasElement>(id);
  const scales =
    type === "doughnut"
      ? {}
      : { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { maxTicksLimit: 6 } } };
  return new Chart(canvas, {
    type,
    data: { labels: [], datasets: [] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: "bottom" } },
      scales,
    },
  });
}

const charts = {
  total: chart("chart-total", "bar"),
  monthly: chart("chart-monthly", "bar"),
  budget: chart("chart-budget", "line"),
  donut: chart("chart-donut", "doughnut"),
};

interface Filters {
  advertiser: string;
  month: string;
  day: string;
}

function filters(): Filters {
  return { advertiser: ui.advertiser.value, month: ui.month.value, day: ui.day.value };
}

/** The filters' time range: a day wins over a month; none → undefined. */
function range(f: Filters): { from?: string; to?: string } {
  if (f.day !== "") {
    const start = Date.parse(`${f.day}T00:00:00Z`);
    return { from: new Date(start).toISOString(), to: new Date(start + DAY_MS).toISOString() };
  }
  if (f.month !== "") {
    const start = new Date(f.month);
    const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    return { from: start.toISOString(), to: end.toISOString() };
  }
  return {};
}

function setKpi(id: string, micros: bigint | null, asCount = false): void {
  const target = element<HTMLSpanElement>(id);
  if (micros === null) {
    target.textContent = "—";
    target.dataset.exact = "";
    return;
  }
  target.textContent = asCount ? micros.toString() : displayMoney(micros);
  target.dataset.exact = asCount ? micros.toString() : microsToDecimal(micros);
  target.title = target.dataset.exact;
}

function fillSelect(
  select: HTMLSelectElement,
  values: { value: string; label: string }[],
  allLabel: string,
): void {
  const current = select.value;
  const options = [{ value: "", label: allLabel }, ...values];
  if (
    select.options.length === options.length &&
    options.every((o, i) => select.options[i]?.value === o.value)
  )
    return;
  select.replaceChildren(
    ...options.map((o) => {
      const option = document.createElement("option");
      option.value = o.value;
      option.textContent = o.label;
      return option;
    }),
  );
  select.value = options.some((o) => o.value === current) ? current : "";
}

/** Bars of gross vs net per advertiser for the selected period; KPIs from the same rows. */
function renderTotals(f: Filters, total: TotalRow[], monthly: MonthlyRow[], daily: DailyRow[]): void {
  const rows: {
    advertiser: string;
    gross: bigint;
    net: bigint;
    clicks: bigint | null;
    budget: string | null;
  }[] =
    f.day !== ""
      ? daily.map((r) => ({
          advertiser: r.advertiser,
          gross: decimalToMicros(r.daily_gross_spend),
          net: decimalToMicros(r.daily_net_spend),
          clicks: null,
          budget: null,
        }))
      : f.month !== ""
        ? monthly
            .filter((r) => r.spend_month === f.month)
            .map((r) => ({
              advertiser: r.advertiser,
              gross: decimalToMicros(r.monthly_gross_spend),
              net: decimalToMicros(r.monthly_net_spend),
              clicks: BigInt(r.total_clicks ?? 0),
              budget: r.budget_value,
            }))
        : total.map((r) => ({
            advertiser: r.advertiser,
            gross: decimalToMicros(r.total_gross_spend),
            net: decimalToMicros(r.total_net_spend),
            clicks: BigInt(r.total_clicks ?? 0),
            budget: r.latest_budget_value,
          }));
  const shown = naturalSort(
    f.advertiser === "" ? rows : rows.filter((r) => r.advertiser === f.advertiser),
    (r) => r.advertiser,
  );
  charts.total.data = {
    labels: shown.map((r) => r.advertiser),
    datasets: [
      { label: "Gross spend", data: shown.map((r) => microsToNumber(r.gross)), backgroundColor: GROSS },
      { label: "Net spend", data: shown.map((r) => microsToNumber(r.net)), backgroundColor: NET },
    ],
  };
  charts.total.update("none");
  setKpi(
    "kpi-gross",
    shown.reduce((sum, r) => sum + r.gross, 0n),
  );
  setKpi(
    "kpi-net",
    shown.reduce((sum, r) => sum + r.net, 0n),
  );
  const clicks = shown.every((r) => r.clicks !== null)
    ? shown.reduce((sum, r) => sum + (r.clicks ?? 0n), 0n)
    : null;
  setKpi("kpi-clicks", clicks, true);
  const budget = f.advertiser !== "" && shown[0]?.budget != null ? decimalToMicros(shown[0].budget) : null;
  setKpi("kpi-budget", budget);
}

function renderMonthly(f: Filters, monthly: MonthlyRow[]): void {
  const rows = f.advertiser === "" ? monthly : monthly.filter((r) => r.advertiser === f.advertiser);
  const byMonth = new Map<string, { gross: bigint; net: bigint }>();
  for (const r of rows) {
    if (r.spend_month === null) continue;
    const sums = byMonth.get(r.spend_month) ?? { gross: 0n, net: 0n };
    sums.gross += decimalToMicros(r.monthly_gross_spend);
    sums.net += decimalToMicros(r.monthly_net_spend);
    byMonth.set(r.spend_month, sums);
  }
  const months = [...byMonth.keys()].sort();
  charts.monthly.data = {
    labels: months.map(monthLabel),
    datasets: [
      {
        label: "Gross",
        data: months.map((m) => microsToNumber(byMonth.get(m)!.gross)),
        backgroundColor: GROSS,
      },
      { label: "Net", data: months.map((m) => microsToNumber(byMonth.get(m)!.net)), backgroundColor: NET },
    ],
  };
  charts.monthly.update("none");
}

/**
 * A line per advertiser while the legend can name them all, else the heaviest ones and "others (n)": the sum
 * of the remaining advertisers' average budgets per hour, so no plotted money is left out of the legend.
 */
function renderBudgetTrend(trend: BudgetTrendRow[], complete: boolean): void {
  const hours = [...new Set(trend.flatMap((r) => (r.spend_hour === null ? [] : [r.spend_hour])))].sort();
  const byAdvertiser = new Map<string, Map<string, bigint>>();
  for (const r of trend) {
    if (r.spend_hour === null || r.avg_budget === null) continue;
    const points = byAdvertiser.get(r.advertiser) ?? new Map<string, bigint>();
    points.set(r.spend_hour, decimalToMicros(r.avg_budget));
    byAdvertiser.set(r.advertiser, points);
  }
  const series: Series[] = [...byAdvertiser].map(([label, points]) => ({
    label,
    values: hours.map((h) => points.get(h) ?? null),
  }));
  const grouped = topWithOthers(series, MAX_SERIES);
  const line = (s: Series, color: string, others: boolean) => ({
    label: s.label,
    data: s.values.map((v) => (v === null ? null : microsToNumber(v))),
    borderColor: color,
    backgroundColor: color,
    borderDash: others ? [4, 3] : [],
    spanGaps: true,
    pointRadius: 2,
  });
  charts.budget.data = {
    labels: hours.map(hourLabel),
    datasets: [
      ...grouped.shown.map((s, i) => line(s, LINE_COLORS[i % LINE_COLORS.length]!, false)),
      ...(grouped.others === null ? [] : [line(grouped.others, OTHERS_COLOR, true)]),
    ],
  };
  charts.budget.update("none");
  const parts = [
    grouped.others === null ? null : `others: sum of ${grouped.folded.join(", ")}`,
    complete ? null : `only the first ${trend.length} rows: narrow the range`,
  ].filter((p) => p !== null);
  ui.trendCaption.textContent = `average budget per hour${parts.length === 0 ? "" : ` (${parts.join("; ")})`}`;
  ui.trendCaption.title = ui.trendCaption.textContent;
  ui.trendCaption.dataset.series = String(grouped.shown.length + (grouped.others === null ? 0 : 1));
  ui.trendCaption.dataset.advertisers = String(series.length);
}

/**
 * Spend and remaining budget of one day. One advertiser: its `Spend` and `Remaining Budget`. All advertisers:
 * each one's spend as a slice (the heaviest ones, the rest as "others"), and the remaining budget of them all.
 */
function renderDonut(advertiser: string, day: string | null, combined: CombinedRow[]): void {
  const who = advertiser === "" ? "all advertisers" : advertiser;
  ui.donutCaption.textContent = day === null ? `${who}: no data` : `${who}, ${day}`;
  const spend = combined.filter((r) => r.category === "Spend");
  const remaining = combined
    .filter((r) => r.category === "Remaining Budget")
    .reduce((sum, r) => sum + decimalToMicros(r.amount), 0n);
  const spendTotal = spend.reduce((sum, r) => sum + decimalToMicros(r.amount), 0n);
  ui.donutCaption.dataset.spend = microsToDecimal(spendTotal);
  ui.donutCaption.dataset.remaining = microsToDecimal(remaining);
  ui.donutCaption.dataset.advertisers = String(new Set(spend.map((r) => r.advertiser)).size);
  if (spend.length === 0) {
    charts.donut.data = { labels: [], datasets: [{ data: [] }] };
  } else if (advertiser !== "") {
    charts.donut.data = {
      labels: ["Spend", "Remaining Budget"],
      datasets: [
        {
          data: [microsToNumber(spendTotal), microsToNumber(remaining)],
          backgroundColor: [NET, REMAINING],
        },
      ],
    };
  } else {
    const perAdvertiser = new Map<string, bigint>();
    for (const r of spend)
      perAdvertiser.set(r.advertiser, (perAdvertiser.get(r.advertiser) ?? 0n) + decimalToMicros(r.amount));
    const grouped = topWithOthers(
      [...perAdvertiser].map(([label, micros]) => ({ label, values: [micros] })),
      MAX_SERIES,
    );
    const slices = [...grouped.shown, ...(grouped.others === null ? [] : [grouped.others])];
    charts.donut.data = {
      labels: [...slices.map((s) => `${s.label} spend`), "Remaining Budget"],
      datasets: [
        {
          data: [...slices.map((s) => microsToNumber(s.values[0] ?? 0n)), microsToNumber(remaining)],
          backgroundColor: [
            ...grouped.shown.map((_, i) => LINE_COLORS[i % LINE_COLORS.length]!),
            ...(grouped.others === null ? [] : [OTHERS_COLOR]),
            REMAINING,
          ],
        },
      ],
    };
  }
  charts.donut.update("none");
}

/** The advertisers the filter selects (all without one), in natural order of name, then id. */
function selectedAdvertisers(advertisers: readonly AdvertiserRow[], f: Filters): AdvertiserRow[] {
  return [...advertisers]
    .filter((a) => f.advertiser === "" || a.advertiser === f.advertiser)
    .sort(
      (x, y) =>
        naturalCompare(x.advertiser, y.advertiser) || naturalCompare(x.advertiser_id, y.advertiser_id),
    );
}

async function refresh(): Promise<void> {
  const f = filters();
  const r = range(f);
  const [advertisers, total, monthly, daily, goldStatus, health] = await Promise.all([
    api.get<Page<AdvertiserRow>>("/v1/advertisers", { limit: PAGE }),
    api.get<Page<TotalRow>>("/v1/reports/spend/total", { limit: PAGE }),
    api.get<Page<MonthlyRow>>("/v1/reports/spend/monthly", { limit: PAGE }),
    f.day === ""
      ? Promise.resolve<Page<DailyRow>>({ items: [], limit: 0, offset: 0, next_offset: null })
      : api.get<Page<DailyRow>>("/v1/reports/spend/daily", { limit: PAGE, ...r }),
    api.get<Page<GoldStatusRow>>("/v1/reports/serving-status", { limit: PAGE }),
    api.get<PipelineHealth>("/v1/pipeline/health").catch(() => null),
  ]);

  fillSelect(
    ui.advertiser,
    naturalSort([...new Set(advertisers.items.map((a) => a.advertiser))], (name) => name).map((name) => ({
      value: name,
      label: name,
    })),
    "All advertisers",
  );
  fillSelect(
    ui.month,
    [...new Set(monthly.items.flatMap((m) => (m.spend_month === null ? [] : [m.spend_month])))]
      .sort()
      .map((m) => ({ value: m, label: monthLabel(m) })),
    "All months",
  );
  const current = filters();

  renderTotals(current, total.items, monthly.items, daily.items);
  renderMonthly(current, monthly.items);

  // Budget trend: the filtered range, else the week before the newest activity.
  const newest = total.items.reduce(
    (max, t) => Math.max(max, Date.parse(t.latest_activity_time ?? "") || 0),
    0,
  );
  const trendRange =
    r.from !== undefined ? r : newest > 0 ? { from: new Date(newest - 7 * DAY_MS).toISOString() } : {};
  const listed = selectedAdvertisers(advertisers.items, current);
  const [trend, servingBatch, combined] = await Promise.all([
    api.getPages<BudgetTrendRow>(
      "/v1/reports/budget/trend",
      { limit: PAGE, advertiser: current.advertiser, ...trendRange },
      TREND_MAX_PAGES,
    ),
    listed.length === 0
      ? Promise.resolve({ results: [] as ServingRow[] })
      : api.post<{ results: ServingRow[] }>("/v1/serving:batch", { ids: listed.map((a) => a.advertiser_id) }),
    donutRows(current, newest),
  ]);
  renderBudgetTrend(trend.items, trend.complete);
  renderDonut(current.advertiser, combined.day, combined.rows);
  renderServing(listed, servingBatch.results, goldStatus.items, (name) => {
    ui.advertiser.value = name;
    void tick();
  });
  renderForecastTile(servingBatch.results);
  renderHealth(health);
  const selection: Selection | null =
    current.advertiser === "" ? null : { name: current.advertiser, ids: listed.map((a) => a.advertiser_id) };
  panel.show(selection, servingBatch.results);
  await Promise.all([panel.refreshAudit(), alerts.refresh(selection === null ? null : selection.ids)]);
}

/**
 * The donut's rows: the chosen day, else the latest day with data (of the chosen advertiser, or of all of them:
 * the day of the newest activity).
 */
async function donutRows(f: Filters, newestMs: number): Promise<{ day: string | null; rows: CombinedRow[] }> {
  const day =
    f.day !== ""
      ? f.day
      : f.advertiser === "" && newestMs > 0
        ? new Date(newestMs).toISOString().slice(0, 10)
        : null;
  const rows = await api.getPages<CombinedRow>(
    "/v1/reports/spend-vs-budget",
    {
      limit: PAGE,
      advertiser: f.advertiser,
      ...(day === null ? {} : range({ advertiser: "", month: "", day })),
    },
    f.advertiser === "" ? TREND_MAX_PAGES : 1,
  );
  // Without a chosen day, one advertiser's rows span every day it has: keep its latest.
  const latest = rows.items.reduce<string | null>(
    (max, r) => (r.spend_day !== null && (max === null || r.spend_day > max) ? r.spend_day : max),
    null,
  );
  return {
    day: latest === null ? null : latest.slice(0, 10),
    rows: rows.items.filter((r) => r.spend_day === latest),
  };
}

let config: DashboardConfig = { refresh_ms: 5_000, read_token_required: false };
let timer: number | undefined;
let running = false;

async function tick(): Promise<void> {
  if (running) return;
  running = true;
  try {
    await refresh();
    ui.error.classList.add("hidden");
    ui.updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.ready = "true";
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ui.error.textContent =
      error instanceof HttpError && error.status === 401
        ? "a read token is needed (enter it above)"
        : message;
    ui.error.classList.remove("hidden");
    if (error instanceof HttpError && error.status === 401) ui.tokenBox.classList.remove("hidden");
  } finally {
    running = false;
  }
}

/**
 * Flips arrive on the changes stream the moment the tracker makes them; polling still refreshes the rest (and
 * covers anything the at-most-once stream missed). The stream is read with fetch, not EventSource, so it can
 * carry the read token; it is reopened after the refresh interval when it ends or is refused.
 */
async function followServingChanges(): Promise<void> {
  for (;;) {
    // Without a token (and reads not public) the stream would only be refused: wait for one.
    const waiting = config.read_token_required && ui.token.value.trim() === "";
    if (!waiting) {
      try {
        const response = await fetch("/v1/serving/changes", { headers: api.headers(), cache: "no-store" });
        if (response.ok && response.body !== null) {
          ui.servingCaption.textContent = "live from the budget-tracker (streaming)";
          await readEvents(response.body, (type, data) => {
            if (type === "serving_change") {
              const change = JSON.parse(data) as ServingChange;
              applyServingChange(change);
              panel.applyServing(change.advertiserId, change.canServe, change.reason);
            } else if (type === "reset") void tick();
          });
        } else await response.body?.cancel();
      } catch {
        // The network or the API is away: polling carries on, the stream is retried below.
      }
      ui.servingCaption.textContent = "live from the budget-tracker";
    }
    await new Promise((resolve) => window.setTimeout(resolve, config.refresh_ms));
  }
}

function schedule(): void {
  window.clearInterval(timer);
  timer = window.setInterval(() => void tick(), config.refresh_ms);
}

async function start(): Promise<void> {
  config = await (await fetch("/dashboard/config.json", { cache: "no-store" })).json();
  if (config.read_token_required && ui.token.value.trim() === "") ui.tokenBox.classList.remove("hidden");
  await alerts.detect();
  void followServingChanges();
  for (const control of [ui.advertiser, ui.month, ui.day])
    control.addEventListener("change", () => void tick());
  ui.token.addEventListener("change", () => {
    sessionStorage.setItem(TOKEN_KEY, ui.token.value.trim());
    void tick();
  });
  // Panels poll (one refresh reads them all consistently); serving flips also stream in (followServingChanges).
  await tick();
  schedule();
}

void start();
