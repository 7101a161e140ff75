import {
  type ApiClient,
  type AuditPage,
  type BudgetChange,
  describeHttpError,
  HttpError,
  type PauseChange,
  type ServingRow,
} from "./api.js";
import { auditRow } from "./audit-rows.js";
import { element } from "./dom.js";
import { forecastText } from "./forecast.js";
import { displayMoney, microsToDecimal } from "./money.js";
import { PaceChart } from "./pace-chart.js";

/** The write token lives in this tab's sessionStorage (like the read token): never in the URL, never logged. */
const WRITE_TOKEN_KEY = "adpipe.writeToken";
const AUDIT_ROWS = 20;

/** The advertiser the page is about: its display name (the filter) and every id that carries it. */
export interface Selection {
  readonly name: string;
  readonly ids: readonly string[];
}

const ui = {
  caption: element<HTMLElement>("act-caption"),
  body: element<HTMLDivElement>("act-body"),
  idBox: element<HTMLLabelElement>("act-id-box"),
  id: element<HTMLSelectElement>("act-id"),
  serving: element<HTMLElement>("act-serving"),
  reason: element<HTMLElement>("act-reason"),
  budget: element<HTMLElement>("act-budget"),
  modeNow: element<HTMLElement>("act-mode-now"),
  source: element<HTMLElement>("act-source"),
  net: element<HTMLElement>("act-net"),
  forecastSpend: element<HTMLElement>("act-forecast-spend"),
  forecastExhausted: element<HTMLElement>("act-forecast-exhausted"),
  pacingNow: element<HTMLElement>("act-pacing-now"),
  serveFraction: element<HTMLElement>("act-serve-fraction"),
  calendarNow: element<HTMLElement>("act-calendar-now"),
  writeToken: element<HTMLInputElement>("write-token"),
  forget: element<HTMLButtonElement>("write-token-forget"),
  hint: element<HTMLParagraphElement>("act-hint"),
  controls: element<HTMLFieldSetElement>("act-controls"),
  form: element<HTMLFormElement>("act-budget-form"),
  amount: element<HTMLInputElement>("act-amount"),
  mode: element<HTMLSelectElement>("act-mode"),
  pacing: element<HTMLSelectElement>("act-pacing"),
  period: element<HTMLSelectElement>("act-period"),
  timeZone: element<HTMLInputElement>("act-time-zone"),
  timeZones: element<HTMLDataListElement>("act-time-zones"),
  note: element<HTMLInputElement>("act-note"),
  pause: element<HTMLButtonElement>("act-pause"),
  resume: element<HTMLButtonElement>("act-resume"),
  result: element<HTMLParagraphElement>("act-result"),
  error: element<HTMLParagraphElement>("act-error"),
  auditRows: element<HTMLTableSectionElement>("audit-rows"),
  auditCaption: element<HTMLParagraphElement>("audit-caption"),
};

function money(micros: number | null): string {
  return micros === null ? "—" : displayMoney(BigInt(micros));
}

/** The IANA zones this browser knows, offered as suggestions (the API decides what it accepts). */
function fillTimeZones(list: HTMLDataListElement): void {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  list.replaceChildren(
    ...["UTC", ...zones].map((zone) => {
      const option = document.createElement("option");
      option.value = zone;
      return option;
    }),
  );
}

/**
 * The advertiser's page: its live serving state, the controls that change it (budget and mode through
 * PUT /v1/advertisers/{id}/budget, pause and resume) and its audit trail beside them. Changes go through the
 * API with the write token the person entered, under the same authorization as any other client; the page
 * only shows what the API answered, errors included.
 */
export class AdvertiserPanel {
  private readonly writes: ApiClient;
  private selection: Selection | null = null;
  private serving = new Map<string, ServingRow>();
  /** The advertiser whose budget was last copied into the amount field (not again while the person edits it). */
  private prefilledFor: string | null = null;
  private busy = false;
  private readonly pace: PaceChart;

  constructor(
    private readonly reads: ApiClient,
    makeClient: (token: () => string) => ApiClient,
    private readonly onChanged: () => void,
  ) {
    this.writes = makeClient(() => ui.writeToken.value.trim());
    this.pace = new PaceChart(reads);
    fillTimeZones(ui.timeZones);
    ui.writeToken.value = sessionStorage.getItem(WRITE_TOKEN_KEY) ?? "";
    ui.writeToken.addEventListener("input", () => {
      const token = ui.writeToken.value.trim();
      if (token === "") sessionStorage.removeItem(WRITE_TOKEN_KEY);
      else sessionStorage.setItem(WRITE_TOKEN_KEY, token);
      this.syncControls();
    });
    ui.forget.addEventListener("click", () => {
      ui.writeToken.value = "";
      sessionStorage.removeItem(WRITE_TOKEN_KEY);
      this.syncControls();
    });
    ui.id.addEventListener("change", () => {
      this.renderState();
      void this.refreshAudit();
    });
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.setBudget();
    });
    ui.pause.addEventListener("click", () => void this.setPaused(true));
    ui.resume.addEventListener("click", () => void this.setPaused(false));
    this.syncControls();
  }

  /** The advertiser id the controls act on, or null when none is picked. */
  get advertiserId(): string | null {
    return this.selection === null ? null : ui.id.value || null;
  }

  /** Called after every refresh: the picked advertiser (null: none) and the tracker's states. */
  show(selection: Selection | null, serving: readonly ServingRow[]): void {
    this.serving = new Map(serving.map((s) => [s.advertiser_id, s]));
    const changed =
      selection?.name !== this.selection?.name ||
      selection?.ids.join("\u0000") !== this.selection?.ids.join("\u0000");
    this.selection = selection;
    ui.body.hidden = selection === null;
    if (selection === null) {
      ui.caption.textContent =
        "pick an advertiser above, or click one in the serving table, to change its budget";
      ui.auditRows.replaceChildren();
      this.prefilledFor = null;
      void this.pace.show(null, undefined);
      return;
    }
    if (changed) {
      const current = ui.id.value;
      ui.id.replaceChildren(
        ...selection.ids.map((id) => {
          const option = document.createElement("option");
          option.value = id;
          option.textContent = id;
          return option;
        }),
      );
      ui.id.value = selection.ids.includes(current) ? current : (selection.ids[0] ?? "");
      ui.idBox.hidden = selection.ids.length < 2;
      ui.result.textContent = "";
      this.showError(null);
    }
    this.renderState();
    const id = this.advertiserId;
    void this.pace.show(id, id === null ? undefined : this.serving.get(id));
  }

  /** A can_serve flip from the changes stream. */
  applyServing(advertiserId: string, canServe: boolean, reason: string | null): void {
    const known = this.serving.get(advertiserId);
    if (known !== undefined)
      this.serving.set(advertiserId, {
        ...known,
        can_serve: canServe,
        reason: reason as ServingRow["reason"],
      });
    if (advertiserId === this.advertiserId) this.renderState();
  }

  private renderState(): void {
    const id = this.advertiserId;
    if (this.selection === null || id === null) return;
    ui.caption.textContent = `${this.selection.name} (${id})`;
    const s = this.serving.get(id);
    const known = s?.known === true;
    ui.serving.textContent = !known ? "unknown" : s.can_serve ? "serving" : "stopped";
    ui.serving.className = !known ? "" : s.can_serve ? "on" : "off";
    ui.serving.dataset.canServe = s === undefined ? "" : String(s.can_serve);
    ui.reason.textContent = s?.reason ?? "—";
    ui.budget.textContent = money(s?.budget_micros ?? null);
    ui.budget.dataset.exact = s?.budget_micros == null ? "" : microsToDecimal(BigInt(s.budget_micros));
    ui.modeNow.textContent = s?.mode ?? "—";
    ui.source.textContent = s?.budget_source ?? "—";
    ui.net.textContent = money(s?.net_micros ?? null);
    // The tracker's forecast at the period's pace so far (docs/realtime.md#forecasts).
    ui.forecastSpend.textContent = money(s?.forecast_period_spend_micros ?? null);
    ui.forecastExhausted.textContent = forecastText(s);
    ui.forecastExhausted.dataset.at = s?.forecast_exhausted_at ?? "";
    ui.pacingNow.textContent = s?.pacing ?? "—";
    ui.serveFraction.textContent = s?.serve_fraction == null ? "—" : String(s.serve_fraction);
    ui.calendarNow.textContent =
      s?.budget_period == null && s?.time_zone == null
        ? (s?.period ?? "—")
        : `${s.budget_period ?? "?"}, ${s.time_zone ?? "?"} (${s.period ?? "—"})`;
    ui.calendarNow.dataset.budgetPeriod = s?.budget_period ?? "";
    ui.calendarNow.dataset.timeZone = s?.time_zone ?? "";
    ui.mode.options[0]!.textContent = `unchanged (${s?.mode ?? "observe"})`;
    ui.pacing.options[0]!.textContent = `unchanged (${s?.pacing ?? "asap"})`;
    ui.period.options[0]!.textContent = `unchanged (${s?.budget_period ?? "service default"})`;
    ui.timeZone.placeholder = `unchanged (${s?.time_zone ?? "service default"})`;
    if (this.prefilledFor !== id && s !== undefined && document.activeElement !== ui.amount) {
      ui.amount.value = s.budget_micros == null ? "" : microsToDecimal(BigInt(s.budget_micros));
      this.prefilledFor = id;
    }
  }

  private syncControls(): void {
    const hasToken = ui.writeToken.value.trim() !== "";
    ui.controls.disabled = !hasToken || this.busy;
    ui.hint.hidden = hasToken;
    ui.forget.disabled = !hasToken;
  }

  private showError(message: string | null): void {
    ui.error.hidden = message === null;
    ui.error.textContent = message ?? "";
  }

  /** Runs one write: controls off while it runs, the API's answer or its error shown, then everything re-read. */
  private async act(describe: () => Promise<string>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.syncControls();
    ui.result.textContent = "sending…";
    this.showError(null);
    try {
      ui.result.textContent = await describe();
    } catch (error) {
      ui.result.textContent = "";
      this.showError(
        error instanceof HttpError ? describeHttpError(error) : `request failed: ${String(error)}`,
      );
    } finally {
      this.busy = false;
      this.syncControls();
      void this.refreshAudit();
      this.onChanged();
    }
  }

  private async setBudget(): Promise<void> {
    const id = this.advertiserId;
    const selection = this.selection;
    if (id === null || selection === null) return;
    // Only what the person picked is sent: an empty choice leaves the value in force as it is.
    const optional = {
      mode: ui.mode.value,
      pacing: ui.pacing.value,
      budget_period: ui.period.value,
      time_zone: ui.timeZone.value.trim(),
    };
    const chosen = Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== ""));
    await this.act(async () => {
      const answer = await this.writes.put<BudgetChange>(`/v1/advertisers/${encodeURIComponent(id)}/budget`, {
        amount: ui.amount.value.trim(),
        ...chosen,
        // The budget_update event names the advertiser: keep its display name rather than the id.
        advertiser: selection.name,
        source: "dashboard",
      });
      for (const control of [ui.mode, ui.pacing, ui.period, ui.timeZone]) control.value = "";
      const changes = [
        answer.new_mode == null ? "" : `, mode ${answer.new_mode}`,
        answer.new_pacing == null ? "" : `, pacing ${answer.new_pacing}`,
        answer.new_time_zone == null ? "" : `, time zone ${answer.new_time_zone}`,
      ].join("");
      return (
        `budget ${answer.amount} per ${answer.period}${changes} ` +
        `sent (audit ${answer.audit_id}); serving follows once the budget-tracker applies it`
      );
    });
  }

  private async setPaused(paused: boolean): Promise<void> {
    const id = this.advertiserId;
    if (id === null) return;
    const note = ui.note.value.trim();
    await this.act(async () => {
      const answer = await this.writes.post<PauseChange>(
        `/v1/advertisers/${encodeURIComponent(id)}/${paused ? "pause" : "resume"}`,
        { source: "dashboard", ...(note === "" ? {} : { note }) },
      );
      ui.note.value = "";
      this.serving.set(id, answer.serving);
      this.renderState();
      return `${paused ? "paused" : "resumed"} (audit ${answer.audit_id}): ${answer.serving.can_serve ? "serving" : `stopped, ${answer.serving.reason ?? ""}`}`;
    });
  }

  /** Re-reads the audit trail of the advertiser in view (read token). */
  async refreshAudit(): Promise<void> {
    const id = this.advertiserId;
    if (id === null) return;
    try {
      const page = await this.reads.get<AuditPage>(`/v1/advertisers/${encodeURIComponent(id)}/budget/audit`, {
        limit: String(AUDIT_ROWS),
      });
      if (id !== this.advertiserId) return;
      ui.auditRows.replaceChildren(...page.items.map(auditRow));
      ui.auditCaption.textContent =
        page.items.length === 0
          ? "no budget change, pause or resume through the API yet"
          : page.next_before_id === null
            ? ""
            : `latest ${page.items.length}; older entries: adpipe budget show or GET …/budget/audit?before_id=${page.next_before_id}`;
    } catch (error) {
      ui.auditCaption.textContent = `audit trail unavailable: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}
