/** Typed fetches of the API's own endpoints (same origin). */

import type { Page } from "../../src/web-types.js";
import { type FieldProblem, fieldProblems, HttpError } from "./http-error.js";

// The answers' types come from the API's route schemas (type-only: nothing of the server is bundled).
export type {
  AdvertiserRow,
  AlertItem,
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

export { describeHttpError, type FieldProblem, HttpError } from "./http-error.js";

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
      const answer: Page<T> = await this.get<Page<T>>(path, { ...query, offset: String(offset) });
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
