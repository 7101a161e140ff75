import { type AlertItem, type ApiClient, HttpError } from "./api.js";
import { element } from "./dom.js";
import { displayMoney } from "./money.js";

const ALERTS_PATH = "/v1/alerts";
/** Alerts read per advertiser in view (the API's newest first), and for all advertisers together. */
const ALERTS_LIMIT = "50";

/** One line per alert: when, who, what (kind and threshold), the period and the money behind it. */
function describe(alert: AlertItem): string {
  const threshold = alert.threshold_pct > 0 ? ` ${alert.threshold_pct} %` : "";
  // Integer micros as decimal strings (exact beyond 2^53).
  const money = `net ${displayMoney(BigInt(alert.period_net_micros))} of budget ${displayMoney(BigInt(alert.budget_micros))}`;
  return [
    new Date(alert.fired_at).toLocaleString(),
    alert.advertiser ?? alert.advertiser_id,
    `${alert.kind}${threshold}`,
    `period ${alert.budget_period}`,
    money,
  ].join(" · ");
}

/**
 * The alerts list. It shows only where the API has the alerts route: the route is looked up once in the API's
 * own description (/openapi.json, public), so an API without it costs no failing request per refresh; a 404
 * later (an older API behind the same address) hides the list again.
 */
export class AlertsPanel {
  private readonly card = element<HTMLElement>("alerts-card");
  private readonly list = element<HTMLUListElement>("alerts-list");
  private readonly caption = element<HTMLElement>("alerts-caption");
  private available = false;

  constructor(private readonly reads: ApiClient) {}

  async detect(): Promise<void> {
    try {
      const response = await fetch("/openapi.json", { cache: "no-store" });
      const description = response.ok ? ((await response.json()) as { paths?: Record<string, unknown> }) : {};
      this.available = Object.hasOwn(description.paths ?? {}, ALERTS_PATH);
    } catch {
      this.available = false;
    }
    this.card.hidden = !this.available;
  }

  /**
   * The alerts of the advertiser in view (every advertiser's when none is picked), newest first. The API filters
   * by advertiser: a page of every advertiser's newest alerts could hold none of the one in view.
   */
  async refresh(advertiserIds: readonly string[] | null): Promise<void> {
    if (!this.available) return;
    try {
      const pages = await Promise.all(
        (advertiserIds ?? [undefined]).map((id) =>
          this.reads.get<{ items: AlertItem[] }>(ALERTS_PATH, { advertiser_id: id, limit: ALERTS_LIMIT }),
        ),
      );
      // ISO times in UTC order as text.
      const items = pages
        .flatMap((page) => page.items)
        .sort((x, y) => (x.fired_at < y.fired_at ? 1 : x.fired_at > y.fired_at ? -1 : 0));
      this.list.replaceChildren(
        ...items.map((alert) => {
          const li = document.createElement("li");
          li.textContent = describe(alert);
          li.dataset.kind = alert.kind;
          li.dataset.thresholdPct = String(alert.threshold_pct);
          li.dataset.period = alert.budget_period;
          li.dataset.advertiserId = alert.advertiser_id;
          return li;
        }),
      );
      this.caption.textContent = items.length === 0 ? "none" : `${items.length}`;
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) {
        this.available = false;
        this.card.hidden = true;
        return;
      }
      this.caption.textContent = `unavailable: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}
