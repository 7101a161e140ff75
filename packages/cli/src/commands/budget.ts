import {
  auditResponseSchema,
  budgetChangeResponseSchema,
  errorBodySchema,
  servingStateSchema,
} from "@adpipe/api-contract";
import {
  BUDGET_MODES,
  BUDGET_PERIODS,
  type BudgetMode,
  type BudgetPeriod,
  formatMicros,
  PACING_MODES,
  type PacingMode,
  parseExactMoneyToMicros,
} from "@adpipe/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { z } from "zod";
import { EXIT } from "../exit-codes.js";
import { CommandFailure } from "./warehouse-support.js";

/**
 * `adpipe budget set|show`: budgets and budget modes go through the HTTP API (PUT /v1/advertisers/{id}/budget), so
 * a change from the CLI is validated, published as a budget_update and audited exactly like one from any other
 * caller; the CLI holds no second copy of those rules and needs no Kafka or Postgres credentials, only the API's
 * address (ADPIPE_API_URL) and a token (ADPIPE_API_TOKEN: a write token for `set`, a read token is enough for `show`).
 */

const REQUEST_TIMEOUT_MS = 10_000;
const AUDIT_LIMIT_MAX = 500;

export interface ApiTarget {
  readonly baseUrl: string;
  readonly token: string | null;
}

/** The API's address and token from the environment (or --api-url); exit 2 with what to set when missing. */
export function apiTargetFromEnv(
  env: NodeJS.ProcessEnv,
  options: { apiUrl?: string; needToken: boolean },
): ApiTarget {
  const raw = options.apiUrl ?? env.ADPIPE_API_URL;
  if (raw === undefined || raw === "") {
    throw new CommandFailure(
      "ADPIPE_API_URL is not set: the API's base URL, e.g. http://127.0.0.1:8080 (npm start prints it), or pass --api-url",
      EXIT.usage,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CommandFailure(`ADPIPE_API_URL is not a URL: expected e.g. http://127.0.0.1:8080`, EXIT.usage);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CommandFailure(`ADPIPE_API_URL must be http:// or https://, got ${url.protocol}`, EXIT.usage);
  }
  if (url.username !== "" || url.password !== "") {
    throw new CommandFailure("ADPIPE_API_URL must not carry credentials: set ADPIPE_API_TOKEN", EXIT.usage);
  }
  const token = env.ADPIPE_API_TOKEN?.trim() ?? "";
  if (options.needToken && token === "") {
    throw new CommandFailure(
      "ADPIPE_API_TOKEN is not set: a write token of the API (API_WRITE_TOKENS; npm start prints one)",
      EXIT.usage,
    );
  }
  return { baseUrl: url.toString().replace(/\/+$/, ""), token: token === "" ? null : token };
}

/** commander parser for the amount: exact decimal currency units ≥ 0, at most 6 decimals (sent as text). */
export function parseAmount(value: string): string {
  const money = parseExactMoneyToMicros(value.trim());
  if (!money.ok) {
    throw new InvalidArgumentError(
      money.code === "too_precise"
        ? "at most 6 decimals (micro-units)"
        : 'expected a decimal amount in currency units, e.g. "250.50"',
    );
  }
  if (money.micros < 0) throw new InvalidArgumentError("a budget must not be negative");
  return value.trim();
}

function parseAuditLimit(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > AUDIT_LIMIT_MAX) {
    throw new InvalidArgumentError(`expected a whole number 0..${AUDIT_LIMIT_MAX}`);
  }
  return n;
}

/** The API's error answer as one line: its message and, for 400s, which fields and why. */
export function describeApiError(status: number, body: unknown): string {
  const answer = errorBodySchema.safeParse(body);
  if (!answer.success) return `HTTP ${status}`;
  const error = answer.data.error;
  const details = Array.isArray(error.details)
    ? error.details
        .map((detail: { path?: unknown; message?: unknown }) => {
          const path = Array.isArray(detail.path) ? detail.path.join(".") : "";
          const message = typeof detail.message === "string" ? detail.message : "invalid";
          return path === "" ? message : `${path}: ${message}`;
        })
        .join("; ")
    : "";
  return details === "" ? error.message : `${error.message} (${details})`;
}

/** Exit code for an API answer that is not 2xx: the caller's mistake (2), the API not able now (69), else 1. */
export function exitCodeForStatus(status: number): number {
  if (status === 429 || status === 502 || status === 503 || status === 504) return EXIT.unavailable;
  if (status >= 400 && status < 500) return EXIT.usage;
  return EXIT.failed;
}

/** One request to the API; maps transport failures and error answers onto CommandFailure with what to do. */
export async function callApi<Answer extends z.ZodType>(
  target: ApiTarget,
  method: "GET" | "PUT",
  path: string,
  answer: Answer,
  body?: unknown,
): Promise<z.output<Answer>> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (target.token !== null) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`${target.baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : "";
    throw new CommandFailure(`the API at ${target.baseUrl} is unavailable: ${cause}`, EXIT.unavailable, {
      cause: error,
    });
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    let message = describeApiError(response.status, parsed);
    if (response.status === 401) {
      message +=
        method === "GET"
          ? "; set ADPIPE_API_TOKEN to a read or write token"
          : "; set ADPIPE_API_TOKEN to a write token (API_WRITE_TOKENS)";
    }
    const retry = response.headers.get("retry-after");
    if (retry !== null) message += `; retry after ${retry} s`;
    throw new CommandFailure(`${method} ${path}: ${message}`, exitCodeForStatus(response.status));
  }
  if (typeof parsed !== "object" || parsed === null) {
    throw new CommandFailure(
      `${method} ${path}: the answer is not JSON: is ADPIPE_API_URL (${target.baseUrl}) the adpipe API?`,
      EXIT.failed,
    );
  }
  // The answer is held to the API's own schema (@adpipe/api-contract): a CLI older or newer than the API, or
  // another service at ADPIPE_API_URL, fails here with what differs instead of printing wrong fields.
  const checked = answer.safeParse(parsed);
  if (!checked.success) {
    const problems = checked.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join(".") || "(answer)"}: ${issue.message}`)
      .join("; ");
    throw new CommandFailure(
      `${method} ${path}: the answer does not match the API contract (${problems}): are the CLI and the API the same version?`,
      EXIT.failed,
    );
  }
  return checked.data;
}

export type BudgetChange = z.output<typeof budgetChangeResponseSchema>;
export type ServingAnswer = z.output<typeof servingStateSchema>;
export type AuditEntry = z.output<typeof auditResponseSchema>["items"][number];

const money = (micros: number | null): string => (micros === null ? "none" : formatMicros(micros));

export function formatBudgetChange(change: BudgetChange): string[] {
  const lines = [
    `${change.advertiser_id}: budget ${change.amount} per ${change.period} (was ${money(change.old_budget_micros)}${change.old_budget_source === null ? "" : `, source ${change.old_budget_source}`})`,
    change.new_mode === null
      ? `  mode unchanged (${change.old_mode ?? "unknown"} in the tracker)`
      : `  mode ${change.new_mode} (was ${change.old_mode ?? "unknown"})`,
    ...calendarChange(change),
    (change.new_pacing ?? null) === null
      ? `  pacing unchanged (${change.old_pacing ?? "unknown"} in the tracker)`
      : `  pacing ${change.new_pacing} (was ${change.old_pacing ?? "unknown"})`,
    `  published ${change.event_id}, audit ${change.audit_id}; the budget-tracker applies it with its next batch`,
  ];
  return lines;
}

/** The calendar lines of a change: only for the settings it set. */
function calendarChange(change: BudgetChange): string[] {
  const lines: string[] = [];
  if (change.new_budget_period !== null && change.new_budget_period !== undefined)
    lines.push(`  budget period ${change.new_budget_period} (was ${change.old_budget_period ?? "unknown"})`);
  if (change.new_time_zone !== null && change.new_time_zone !== undefined)
    lines.push(`  time zone ${change.new_time_zone} (was ${change.old_time_zone ?? "unknown"})`);
  return lines;
}

/** `, pacing even (serve fraction 0.5)` for a paced advertiser; nothing for asap (today's output unchanged). */
function pacingOf(serving: ServingAnswer): string {
  const pacing = serving.pacing ?? "asap";
  if (pacing === "asap") return "";
  return `, pacing ${pacing} (serve fraction ${serving.serve_fraction ?? (serving.can_serve ? 1 : 0)})`;
}

export function formatBudgetShow(serving: ServingAnswer, audit: readonly AuditEntry[]): string[] {
  const lines: string[] = [];
  if (!serving.known) {
    lines.push(
      `${serving.advertiser_id}: unknown to the budget-tracker (${serving.can_serve ? "served" : "not served"}${serving.reason === null ? "" : `, ${serving.reason}`})`,
    );
  } else {
    lines.push(
      `${serving.advertiser_id}: ${serving.can_serve ? "serving" : `not serving (${serving.reason ?? "?"})`}, period ${serving.period ?? "?"}${serving.budget_period === null || serving.budget_period === undefined ? "" : ` (per ${serving.budget_period}, ${serving.time_zone ?? "?"})`}`,
      `  budget ${money(serving.budget_micros)}${serving.budget_source === null ? "" : ` (source ${serving.budget_source})`}, mode ${serving.mode ?? "observe"}${pacingOf(serving)}`,
      `  net ${money(serving.net_micros)}, gross ${money(serving.gross_micros)}, over cap ${money(serving.over_cap_micros ?? 0)}, clicks ${serving.clicks ?? 0}`,
      `  updated ${serving.updated_at ?? "?"}`,
    );
  }
  if (audit.length > 0) {
    lines.push("audit (newest first):");
    for (const entry of audit) {
      const budget =
        entry.action === "set_budget"
          ? ` ${money(entry.old_budget_micros)} -> ${money(entry.new_budget_micros)}`
          : "";
      const mode = entry.new_mode === null ? "" : ` mode ${entry.old_mode ?? "unknown"} -> ${entry.new_mode}`;
      const period =
        entry.new_budget_period === null || entry.new_budget_period === undefined
          ? ""
          : ` period ${entry.old_budget_period ?? "unknown"} -> ${entry.new_budget_period}`;
      const zone =
        entry.new_time_zone === null || entry.new_time_zone === undefined
          ? ""
          : ` zone ${entry.old_time_zone ?? "unknown"} -> ${entry.new_time_zone}`;
      const newPacing = entry.new_pacing ?? null;
      const pacing = newPacing === null ? "" : ` pacing ${entry.old_pacing ?? "unknown"} -> ${newPacing}`;
      const note = entry.note === null ? "" : ` "${entry.note}"`;
      lines.push(
        `  ${entry.id} ${entry.created_at} ${entry.action}${budget}${mode}${period}${zone}${pacing} by ${entry.actor} (${entry.source})${note}`,
      );
    }
  }
  return lines;
}

const advertiserPath = (id: string) => `/v1/advertisers/${encodeURIComponent(id)}`;

export function register(program: Command): void {
  const budget = program
    .command("budget")
    .description(
      "Set or show an advertiser's budget, budget mode, period and time zone through the HTTP API (audited)",
    );

  budget
    .command("set")
    .description(
      "Set an advertiser's budget (and with --mode its budget mode): the API publishes a budget_update and audits it",
    )
    .argument("<advertiser-id>", "the advertiser's id (the budget key)")
    .argument(
      "<amount>",
      'budget in currency units per BUDGET_PERIOD, e.g. "250.50"; required with --mode too',
      parseAmount,
    )
    .addOption(
      new Option(
        "--mode <mode>",
        "budget mode: observe (the budget decides serving only) or hard_cap (billing stops at the budget); omitted: unchanged",
      ).choices(BUDGET_MODES),
    )
    .addOption(
      new Option(
        "--period <period>",
        "the advertiser's own budget period (published as budget_period); omitted: unchanged (BUDGET_PERIOD until set)",
      ).choices(BUDGET_PERIODS),
    )
    .option(
      "--time-zone <zone>",
      "the advertiser's IANA time zone, e.g. Europe/Berlin (published as time_zone); omitted: unchanged (BUDGET_TIME_ZONE until set)",
    )
    .addOption(
      new Option(
        "--pacing <pacing>",
        "pacing: asap (serve while budget is left), even (follow budget x elapsed share of the period) or shaped; omitted: unchanged",
      ).choices(PACING_MODES),
    )
    .option("--advertiser <name>", "display name (default: the id)")
    .option("--source <source>", "who or what asks, recorded in the audit", "adpipe-cli")
    .option("--api-url <url>", "the API's base URL (default: ADPIPE_API_URL)")
    .option("--json", "print the API's answer as JSON")
    .action(
      async (
        advertiserId: string,
        amount: string,
        options: {
          mode?: BudgetMode;
          period?: BudgetPeriod;
          timeZone?: string;
          pacing?: PacingMode;
          advertiser?: string;
          source: string;
          apiUrl?: string;
          json?: boolean;
        },
      ) => {
        const target = apiTargetFromEnv(process.env, {
          needToken: true,
          ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
        });
        const change = await callApi(
          target,
          "PUT",
          `${advertiserPath(advertiserId)}/budget`,
          budgetChangeResponseSchema,
          {
            amount,
            source: options.source,
            ...(options.mode === undefined ? {} : { mode: options.mode }),
            ...(options.period === undefined ? {} : { budget_period: options.period }),
            ...(options.timeZone === undefined ? {} : { time_zone: options.timeZone }),
            ...(options.pacing === undefined ? {} : { pacing: options.pacing }),
            ...(options.advertiser === undefined ? {} : { advertiser: options.advertiser }),
          },
        );
        console.log(
          options.json === true ? JSON.stringify(change, null, 2) : formatBudgetChange(change).join("\n"),
        );
      },
    );

  budget
    .command("show")
    .description(
      "Show an advertiser's serving state, budget, mode and over-cap spend, and its budget audit trail",
    )
    .argument("<advertiser-id>", "the advertiser's id")
    .option("--audit <n>", `audit entries to list (0..${AUDIT_LIMIT_MAX})`, parseAuditLimit, 10)
    .option("--api-url <url>", "the API's base URL (default: ADPIPE_API_URL)")
    .option("--json", "print {serving, audit} as JSON")
    .action(async (advertiserId: string, options: { audit: number; apiUrl?: string; json?: boolean }) => {
      const target = apiTargetFromEnv(process.env, {
        needToken: false,
        ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
      });
      const [serving, audit] = await Promise.all([
        callApi(target, "GET", `${advertiserPath(advertiserId)}/serving`, servingStateSchema),
        options.audit === 0
          ? Promise.resolve({ items: [] as AuditEntry[] })
          : callApi(
              target,
              "GET",
              `${advertiserPath(advertiserId)}/budget/audit?limit=${options.audit}`,
              auditResponseSchema,
            ),
      ]);
      console.log(
        options.json === true
          ? JSON.stringify({ serving, audit: audit.items }, null, 2)
          : formatBudgetShow(serving, audit.items).join("\n"),
      );
    });
}
