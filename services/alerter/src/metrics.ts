import type { DispatchReport, FiredAlert } from "@adpipe/alerts";
import { Counter, Gauge, type Registry } from "prom-client";

export interface AlerterMetrics {
  fired(alerts: readonly FiredAlert[]): void;
  dispatched(report: DispatchReport): void;
  outbox(status: { pending: number; dead: number; oldestPendingMs: number }): void;
  failed(loop: "evaluate" | "dispatch"): void;
}

/** Prometheus metrics of the alerter: alerts fired, deliveries by outcome, the outbox's backlog. */
export function createAlerterMetrics(registry: Registry): AlerterMetrics {
  const fired = new Counter({
    name: "alerts_fired_total",
    help: "Alerts fired (each once per advertiser, period, kind and threshold)",
    labelNames: ["kind"],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "alert_deliveries_total",
    help: "Delivery attempts by outcome: delivered, retried (failed, due again after backoff), dead (no attempt left)",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const pending = new Gauge({
    name: "alert_outbox_pending",
    help: "Deliveries waiting in the outbox",
    registers: [registry],
  });
  const dead = new Gauge({
    name: "alert_outbox_dead",
    help: "Deliveries that used every attempt (alerts.outbox state dead): investigate the receiver",
    registers: [registry],
  });
  const oldest = new Gauge({
    name: "alert_outbox_oldest_pending_seconds",
    help: "Age of the oldest waiting delivery",
    registers: [registry],
  });
  const failures = new Counter({
    name: "alerter_pass_failures_total",
    help: "Evaluation or dispatch passes that failed (Postgres unavailable)",
    labelNames: ["loop"],
    registers: [registry],
  });
  return {
    fired(alerts) {
      for (const alert of alerts) fired.inc({ kind: alert.kind });
    },
    dispatched(report) {
      deliveries.inc({ outcome: "delivered" }, report.delivered);
      deliveries.inc({ outcome: "retried" }, report.retried);
      deliveries.inc({ outcome: "dead" }, report.dead);
    },
    outbox(status) {
      pending.set(status.pending);
      dead.set(status.dead);
      oldest.set(status.oldestPendingMs / 1_000);
    },
    failed(loop) {
      failures.inc({ loop });
    },
  };
}
