/** Typed fetches of the API's own endpoints (same origin). */

// The answers' types come from the API's route schemas (type-only: nothing of the server is bundled).
export type {
  AdvertiserRow,
  BudgetTrendRow,
  CombinedRow,
  DailyRow,
  DashboardConfig,
  GoldStatusRow,
  MonthlyRow,
  Page,
  PipelineHealth,
  ServingRow,
  TotalRow,
} from "../../src/web-types.js";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
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
      let message = `${response.status}`;
      try {
        const body = (await response.json()) as { error?: { message?: string } };
        message = body.error?.message ?? message;
      } catch {
        // not JSON: keep the status
      }
      throw new HttpError(response.status, message);
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

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.read<T>(
      await fetch(path, {
        method: "POST",
        headers: { ...this.headers(), "content-type": "application/json" },
        body: JSON.stringify(body),
        cache: "no-store",
      }),
    );
  }
}
