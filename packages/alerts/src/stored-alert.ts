import type { AlertEvent, AlertKind } from "@adpipe/core";

/** A fired alert as the alerts queries return it (alerts.fired's columns; timestamps as pg gives them). */
export interface StoredAlert {
  event_id: string;
  kind: AlertKind;
  advertiser_id: string;
  advertiser: string | null;
  period_id: string;
  period_start: Date;
  period_end: Date;
  threshold_pct: number;
  period_net_micros: string;
  budget_micros: string;
  fired_at: Date;
}

/**
 * The alert event's fields (all but schema_version) from a stored alert: what a delivery publishes and what
 * GET /v1/alerts lists, named and formatted the same way.
 */
export function alertEventFields(row: StoredAlert): Omit<AlertEvent, "schema_version"> {
  return {
    event_id: row.event_id,
    kind: row.kind,
    advertiser_id: row.advertiser_id,
    advertiser: row.advertiser,
    budget_period: row.period_id,
    period_start: row.period_start.toISOString(),
    period_end: row.period_end.toISOString(),
    threshold_pct: row.threshold_pct,
    period_net_micros: row.period_net_micros,
    budget_micros: row.budget_micros,
    fired_at: row.fired_at.toISOString(),
  };
}
