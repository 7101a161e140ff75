/** Typed fetches of the API's own endpoints (same origin). */

export interface Page<T> {
  items: T[];
  next_offset: number | null;
}
export interface TotalRow {
  advertiser: string;
  total_gross_spend: string | null;
  total_net_spend: string | null;
  total_clicks: number | null;
  latest_budget_value: string | null;
  latest_activity_time: string | null;
  current_serving_status: boolean | null;
}
export interface MonthlyRow {
  advertiser: string;
  spend_month: string;
  monthly_gross_spend: string | null;
  monthly_net_spend: string | null;
  total_clicks: number | null;
  budget_value: string | null;
}
export interface DailyRow {
  advertiser: string;
  spend_day: string;
  daily_gross_spend: string | null;
  daily_net_spend: string | null;
}
export interface BudgetTrendRow {
  advertiser: string;
  spend_hour: string;
  avg_budget: string | null;
}
export interface CombinedRow {
  advertiser: string;
  spend_day: string;
  category: string;
  amount: string | null;
}
export interface GoldStatusRow {
  advertiser: string;
  latest_hour: string | null;
  latest_can_serve: boolean | null;
}
export interface AdvertiserRow {
  advertiser_id: string;
  advertiser: string;
}
export interface ServingRow {
  advertiser_id: string;
  known: boolean;
  can_serve: boolean;
  reason: string | null;
  net_micros: number | null;
  budget_micros: number | null;
  updated_at: string | null;
}
export interface PipelineHealth {
  events_per_second: number | null;
  consumer_groups: { group: string; lag: number | null }[];
  gold_freshness_seconds: number | null;
  errors: string[];
}
export interface DashboardConfig {
  refresh_ms: number;
  read_token_required: boolean;
}

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

  private headers(): Record<string, string> {
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
