import type { AdvertiserRow, GoldStatusRow, ServingRow } from "./api.js";
import { cell, element } from "./dom.js";
import { forecastText } from "./forecast.js";
import { hourLabel } from "./labels.js";
import { displayMoney } from "./money.js";

const rows = element<HTMLTableSectionElement>("serving-rows");

/** can_serve flips announced on the changes stream since the page opened: advertiser_id → epoch ms. */
const lastFlip = new Map<string, number>();

function setServingCells(
  tr: HTMLTableRowElement,
  canServe: boolean | undefined,
  reason: string | null,
): void {
  const [, , servingCell, reasonCell] = tr.cells;
  if (servingCell === undefined || reasonCell === undefined) return;
  servingCell.textContent = canServe === undefined ? "—" : canServe ? "serving" : "stopped";
  servingCell.className = canServe === undefined ? "" : canServe ? "on" : "off";
  reasonCell.textContent = reason ?? "";
}

/** The budget mode, and the period's spend beyond a hard_cap budget (not billed) when there is any. */
function modeCell(s: ServingRow | undefined): HTMLTableCellElement {
  if (s?.mode == null) return cell("—");
  const overCap = s.over_cap_micros ?? 0;
  const td = cell(
    overCap > 0 ? `${s.mode} (${displayMoney(BigInt(overCap))} over cap)` : s.mode,
    `mode ${s.mode}`,
  );
  td.dataset.overCapMicros = String(overCap);
  return td;
}

/** The advertiser's name as a button: a click opens its page (the advertiser filter). */
function advertiserCell(name: string, onPick: (name: string) => void): HTMLTableCellElement {
  const td = document.createElement("td");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = name;
  button.title = `show ${name}: its totals, budget controls and audit trail`;
  button.addEventListener("click", () => onPick(name));
  td.append(button);
  return td;
}

/**
 * The serving table: one row per advertiser the filter selects, the tracker's state next to Gold's latest hour and
 * the forecast; `onPick` opens an advertiser's page.
 */
export function renderServing(
  advertisers: readonly AdvertiserRow[],
  serving: readonly ServingRow[],
  gold: readonly GoldStatusRow[],
  onPick: (name: string) => void,
): void {
  const live = new Map(serving.map((s) => [s.advertiser_id, s]));
  const goldHour = new Map(gold.map((g) => [g.advertiser, g.latest_hour]));
  rows.replaceChildren(
    ...advertisers.map((a) => {
      const s = live.get(a.advertiser_id);
      const tr = document.createElement("tr");
      tr.dataset.advertiserId = a.advertiser_id;
      const flip = lastFlip.get(a.advertiser_id);
      tr.append(
        advertiserCell(a.advertiser, onPick),
        cell(a.advertiser_id),
        cell(""),
        cell(""),
        cell(s?.net_micros == null ? "—" : displayMoney(BigInt(s.net_micros))),
        cell(s?.budget_micros == null ? "—" : displayMoney(BigInt(s.budget_micros))),
        cell(s?.budget_source ?? "—", s?.budget_source == null ? undefined : `source ${s.budget_source}`),
        modeCell(s),
        cell(flip === undefined ? "—" : new Date(flip).toLocaleString(), "last-flip"),
        cell(s?.updated_at == null ? "—" : new Date(s.updated_at).toLocaleString()),
        cell(goldHour.get(a.advertiser) == null ? "—" : hourLabel(goldHour.get(a.advertiser)!)),
        cell(
          s?.forecast_period_spend_micros == null
            ? "—"
            : displayMoney(BigInt(s.forecast_period_spend_micros)),
        ),
        cell(forecastText(s), "forecast-exhausted"),
      );
      setServingCells(tr, s?.can_serve, s?.reason ?? null);
      return tr;
    }),
  );
}

export interface ServingChange {
  type: "serving_change";
  advertiserId: string;
  canServe: boolean;
  reason: string | null;
  updatedAt: number;
}

/** A can_serve flip from the changes stream: the row's serving cells and its "Last change". */
export function applyServingChange(change: ServingChange): void {
  lastFlip.set(change.advertiserId, change.updatedAt);
  const row = rows.querySelector<HTMLTableRowElement>(
    `tr[data-advertiser-id="${CSS.escape(change.advertiserId)}"]`,
  );
  if (row === null) return;
  setServingCells(row, change.canServe, change.reason);
  const flipCell = row.querySelector<HTMLTableCellElement>("td.last-flip");
  if (flipCell !== null) flipCell.textContent = new Date(change.updatedAt).toLocaleString();
}
