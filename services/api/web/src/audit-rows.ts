import type { AuditEntry } from "./api.js";
import { cell } from "./dom.js";
import { displayMoney, microsToDecimal } from "./money.js";

/** "old → new" of a change; "→ new" when the old value is unknown; the old value alone when nothing was set. */
function change<T>(
  before: T | null | undefined,
  after: T | null | undefined,
  show: (value: T) => string,
): string {
  if (after == null) return before == null ? "—" : show(before);
  if (before == null) return `→ ${show(after)}`;
  return `${show(before)} → ${show(after)}`;
}

/** The budget period and time zone a change set, e.g. "day Europe/Berlin → month Asia/Kolkata". */
function calendarChange(entry: AuditEntry): string {
  const setAny = entry.new_budget_period != null || entry.new_time_zone != null;
  if (!setAny) return "";
  const calendar = (period: string | null | undefined, zone: string | null | undefined) =>
    [period, zone].filter((part) => part != null).join(" ");
  const before = calendar(entry.old_budget_period, entry.old_time_zone);
  const after = calendar(
    entry.new_budget_period ?? entry.old_budget_period,
    entry.new_time_zone ?? entry.old_time_zone,
  );
  return before === "" ? `→ ${after}` : `${before} → ${after}`;
}

/**
 * One audit entry as a table row: when, action, budget, mode, pacing, calendar, by, source, note. The new values
 * are also data attributes, exact, for scripts and tests.
 */
export function auditRow(entry: AuditEntry): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.auditId = entry.id;
  tr.dataset.action = entry.action;
  const isBudget = entry.action === "set_budget";
  tr.append(
    cell(new Date(entry.created_at).toLocaleString()),
    cell(entry.action, `action ${entry.action}`),
    cell(
      isBudget
        ? change(entry.old_budget_micros, entry.new_budget_micros, (m) => displayMoney(BigInt(m)))
        : entry.new_budget_micros === null
          ? "—"
          : displayMoney(BigInt(entry.new_budget_micros)),
    ),
    cell(change(entry.old_mode, entry.new_mode, (m) => m)),
    cell(isBudget ? change(entry.old_pacing, entry.new_pacing, (p) => p) : ""),
    cell(isBudget ? calendarChange(entry) : ""),
    cell(entry.actor),
    cell(entry.source),
    cell(entry.note ?? ""),
  );
  if (entry.new_budget_micros !== null)
    tr.dataset.newBudget = microsToDecimal(BigInt(entry.new_budget_micros));
  if (entry.new_pacing != null) tr.dataset.newPacing = entry.new_pacing;
  if (entry.new_budget_period != null) tr.dataset.newBudgetPeriod = entry.new_budget_period;
  if (entry.new_time_zone != null) tr.dataset.newTimeZone = entry.new_time_zone;
  return tr;
}
