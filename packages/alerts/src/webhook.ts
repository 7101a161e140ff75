import type { AlertEvent } from "@adpipe/core";
import { AlertsError } from "./errors.js";
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from "./signature.js";

export interface WebhookSenderOptions {
  /** Signing secret (HMAC-SHA256). Never logged. */
  readonly secret: string;
  /** Time allowed for the receiver's answer (default 10 s). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/**
 * POSTs an alert as JSON, signed over `<timestamp>.<body>`. Only a 2xx answer counts as delivered; redirects are
 * not followed (a receiver moved is an operator's change of ALERT_WEBHOOK_URLS, not something to follow blindly),
 * and the answer's body is never read.
 */
export function webhookSender(
  options: WebhookSenderOptions,
): (url: string, event: AlertEvent) => Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  return async (url, event) => {
    const body = JSON.stringify(event);
    const timestampS = Math.floor(now() / 1000);
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          "content-type": "application/json",
          "user-agent": "adpipe-alerter",
          [EVENT_ID_HEADER]: event.event_id,
          [TIMESTAMP_HEADER]: String(timestampS),
          [SIGNATURE_HEADER]: signWebhook(options.secret, timestampS, body),
        },
        body,
      });
    } catch (error) {
      const reason =
        error instanceof Error && error.name === "TimeoutError"
          ? `no answer in ${timeoutMs} ms`
          : "unreachable";
      throw new AlertsError("webhook_failed", `webhook ${reason}`, { cause: error });
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status < 200 || response.status > 299)
      throw new AlertsError("webhook_failed", `webhook answered HTTP ${response.status}`);
  };
}
