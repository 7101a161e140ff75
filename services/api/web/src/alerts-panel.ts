import { type ApiClient, HttpError } from "./api.js";
import { element } from "./dom.js";

const ALERTS_PATH = "/v1/alerts";

/**
 * An alert as `GET /v1/alerts` lists it (issue 18: budget thresholds, ahead_of_pace, exhausted_early). Read
 * field by field: the page shows what it understands and never fails on the rest.
 */
interface AlertItem {
  readonly advertiser_id?: unknown;
  readonly advertiser?: unknown;
  readonly kind?: unknown;
  readonly threshold_pct?: unknown;
  readonly budget_period?: unknown;
  readonly fired_at?: unknown;
}

const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

function describe(alert: AlertItem): string {
  const kind = text(alert.kind) ?? "alert";
  const threshold =
    typeof alert.threshold_pct === "number" && alert.threshold_pct > 0 ? ` ${alert.threshold_pct} %` : "";
  const who = text(alert.advertiser) ?? text(alert.advertiser_id) ?? "?";
  const period = text(alert.budget_period);
  const fired = text(alert.fired_at);
  return [
    fired === null ? null : new Date(fired).toLocaleString(),
    who,
    `${kind}${threshold}`,
    period === null ? null : `period ${period}`,
  ]
    .filter((part) => part !== null)
    .join(" · ");
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

  /** The alerts of the advertiser in view (every advertiser's when none is picked), newest first. */
  async refresh(advertiserIds: readonly string[] | null): Promise<void> {
    if (!this.available) return;
    try {
      const page = await this.reads.get<{ items?: AlertItem[] }>(ALERTS_PATH);
      const items = (page.items ?? []).filter(
        (a) => advertiserIds === null || advertiserIds.includes(String(a.advertiser_id)),
      );
      // ISO times in UTC order as text.
      items.sort((x, y) => {
        const a = text(x.fired_at) ?? "";
        const b = text(y.fired_at) ?? "";
        return a < b ? 1 : a > b ? -1 : 0;
      });
      this.list.replaceChildren(
        ...items.map((alert) => {
          const li = document.createElement("li");
          li.textContent = describe(alert);
          li.dataset.kind = text(alert.kind) ?? "";
          li.dataset.advertiserId = text(alert.advertiser_id) ?? "";
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
