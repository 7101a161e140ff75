/** Typed fetches of the API's own endpoints (same origin). */

import type { Page as PageOf } from "../../src/web-types.js";

// The answers' types come from the API's route schemas (type-only: nothing of the server is bundled).
export type {
  AdvertiserRow,
  AuditEntry,
  AuditPage,
  BudgetChange,
  BudgetTrendRow,
  CombinedRow,
  DailyRow,
  DashboardConfig,
  GoldStatusRow,
  MonthlyRow,
  Page,
  PauseChange,
  PipelineHealth,
  ServingRow,
  TotalRow,
} from "../../src/web-types.js";

/** One field the API refused: `details` of a 400 answer. */
export interface FieldProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The error body's `code` (bad_request, unauthorized, rate_limited, ...), when the answer had one. */
    readonly code: string | null = null,
    readonly details: readonly FieldProblem[] = [],
  ) {
    super(message);
  }
}

function fieldProblems(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((d: unknown) => {
    if (typeof d !== "object" || d === null) return [];
    const { path, message } = d as { path?: unknown; message?: unknown };
    if (typeof message !== "string") return [];
    const parts = Array.isArray(path)
      ? path.filter((p): p is string | number => typeof p === "string" || typeof p === "number")
      : [];
    return [{ path: parts, message }];
  });
}

/**
 * What a person reads when the API refuses a change: the status, the API's own message and every field it
 * named, and what to do about a refused token.
 */
export function describeHttpError(error: HttpError): string {
  const fields = error.details.map((d) =>
    d.path.length === 0 ? d.message : `${d.path.join(".")}: ${d.message}`,
  );
  const text = `${error.message}${fields.length === 0 ? "" : ` (${fields.join("; ")})`}`;
  switch (error.status) {
    case 401:
      return `401 refused: ${text}. Check the write token (API_WRITE_TOKENS); a read token cannot change budgets.`;
    case 403:
      return `403 forbidden: ${text}`;
    case 400:
      return `400 rejected: ${text}`;
    default:
      return `${error.status}: ${text}`;
  }
}

export class ApiClient {
  constructor(private readonly token: () => string) {}

  /** The Authorization header of the current token (none without one). */
  headers(): Record<string, string> {
    const token = this.token();
    return token === "" ? {} : { authorization: `Bearer ${token}` };
  }

  private async read<T>(response: Response): Promise<T> {
    if (!response.ok) {
      let message = response.statusText === "" ? `${response.status}` : response.statusText;
      let code: string | null = null;
      let details: FieldProblem[] = [];
      try {
        const body = (await response.json()) as {
          error?: { message?: string; code?: string; details?: unknown };
        };
        message = body.error?.message ?? message;
        code = body.error?.code ?? null;
        details = fieldProblems(body.error?.details);
      } catch {
        // not JSON: keep the status
      }
      throw new HttpError(response.status, message, code, details);
    }
    return (await response.json()) as T;
  }

  async get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query))
      if (value !== undefined && value !== "") params.set(key, value);
    const url = params.size === 0 ? path : `${path}?${params.toString()}`;
    return this.read<T>(await fetch(url, { headers: this.headers(), cache: "no-store" }));
  }

  /**
   * Every page of a list (following next_offset), at most `maxPages` of them: `complete` is false when more
   * remained, so the page can say it shows only part.
   */
  async getPages<T>(
    path: string,
    query: Record<string, string | undefined>,
    maxPages: number,
  ): Promise<{ items: T[]; complete: boolean }> {
    const items: T[] = [];
    let offset: number | null = 0;
    for (let page = 0; page < maxPages && offset !== null; page += 1) {
      const answer: PageOf<T> = await this.get<PageOf<T>>(path, { ...query, offset: String(offset) });
      items.push(...answer.items);
      offset = answer.next_offset;
    }
    return { items, complete: offset === null };
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>("POST", path, body);
  }

  async put<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>("PUT", path, body);
  }

  private async send<T>(method: "POST" | "PUT", path: string, body: unknown): Promise<T> {
    return this.read<T>(
      await fetch(path, {
        method,
        headers: { ...this.headers(), "content-type": "application/json" },
        body: JSON.stringify(body),
        cache: "no-store",
      }),
    );
  }
}
