import { createHmac, timingSafeEqual } from "node:crypto";

/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const SIGNATURE_HEADER = "x-adpipe-signature";
/** Header carrying the signing time, unix seconds (part of the signed text: replay protection). */
export const TIMESTAMP_HEADER = "x-adpipe-timestamp";
/** Header carrying the alert's event_id (the same on every retry: receivers deduplicate on it). */
export const EVENT_ID_HEADER = "x-adpipe-event-id";
/** How far a receiver accepts the signing time from its own clock by default (5 minutes, as Stripe does). */
export const DEFAULT_SIGNATURE_TOLERANCE_S = 300;

/** The signature header value of a body signed at `timestampS`. */
export function signWebhook(secret: string, timestampS: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${timestampS}.${body}`, "utf8").digest("hex");
  return `sha256=${mac}`;
}

/**
 * What a receiver checks: the signature over `<timestamp>.<raw body>` matches (constant-time compare) and the
 * timestamp is within `toleranceS` of its clock, so a captured request cannot be replayed later.
 */
export function verifyWebhookSignature(input: {
  secret: string;
  body: string;
  signature: string | undefined;
  timestamp: string | undefined;
  nowS?: number;
  toleranceS?: number;
}): boolean {
  const { secret, body, signature, timestamp } = input;
  if (signature === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const timestampS = Number(timestamp);
  const nowS = input.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(nowS - timestampS) > (input.toleranceS ?? DEFAULT_SIGNATURE_TOLERANCE_S)) return false;
  const expected = Buffer.from(signWebhook(secret, timestampS, body), "utf8");
  const given = Buffer.from(signature, "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
