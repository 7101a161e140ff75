import type { PipelineHealth } from "./api.js";
import { element } from "./dom.js";

/** The health strip: events/s, consumer lag, Gold freshness and a topic reset in red. */
const ui = {
  rate: element<HTMLSpanElement>("health-rate"),
  lag: element<HTMLSpanElement>("health-lag"),
  freshness: element<HTMLSpanElement>("health-freshness"),
  reset: element<HTMLSpanElement>("health-reset"),
};

/** A topic reset stops consumption: shown in red until `adpipe offsets reset` (docs/operations.md). */
function renderReset(health: PipelineHealth | null): void {
  const resets = health?.topic_resets ?? [];
  ui.reset.hidden = resets.length === 0;
  if (resets.length === 0) return;
  const first = resets[0]!;
  ui.reset.textContent =
    `RESET ${health?.topic ?? ""} p${first.partition}: stored ${first.stored_offset ?? "?"} > end ${first.log_end_offset ?? "?"}` +
    (resets.length > 1 ? ` (+${resets.length - 1})` : "");
  ui.reset.title = `${resets
    .map(
      (r) =>
        `${r.service} partition ${r.partition}: RESET (stored ${r.stored_offset ?? "?"} > end ${r.log_end_offset ?? "?"})`,
    )
    .join(
      "\n",
    )}\nThe topic was deleted and recreated: consumption stopped. Run adpipe offsets reset --topic ${health?.topic ?? "<topic>"} --to earliest --yes (docs/operations.md).`;
}

export function renderHealth(health: PipelineHealth | null): void {
  renderReset(health);
  if (health === null) {
    ui.rate.textContent = "events/s n/a";
    return;
  }
  ui.rate.textContent =
    health.events_per_second === null ? "events/s —" : `${health.events_per_second.toFixed(1)} events/s`;
  const lag = health.consumer_groups.map((g) => `${g.group}: ${g.lag ?? "—"}`).join(", ");
  ui.lag.textContent = `lag ${lag === "" ? "—" : lag}`;
  const maxLag = Math.max(0, ...health.consumer_groups.map((g) => g.lag ?? 0));
  ui.lag.classList.toggle("warn", maxLag > 10_000);
  // Freshness counts only events not dated in the future; future-dated ones are a warning of their own.
  const fresh = health.gold_freshness_seconds;
  const future = health.gold_future_events;
  const ahead = future?.warning === true ? future : null;
  ui.freshness.textContent =
    (fresh === null ? "freshness —" : `Gold freshness ${formatDuration(fresh)}`) +
    (ahead === null ? "" : ` · ${ahead.rows} rows dated up to ${formatDuration(ahead.ahead_seconds)} ahead`);
  ui.freshness.title =
    ahead === null
      ? "now minus the newest event time in Gold (events dated in the future excluded)"
      : `events dated up to ${ahead.latest_event_at} are in Gold: a producer's clock or time zone is wrong`;
  ui.freshness.classList.toggle("warn", (fresh !== null && fresh > 300) || ahead !== null);
}

function formatDuration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7_200) return `${(seconds / 60).toFixed(0)} min`;
  if (seconds < 172_800) return `${(seconds / 3_600).toFixed(0)} h`;
  return `${(seconds / 86_400).toFixed(0)} d`;
}
