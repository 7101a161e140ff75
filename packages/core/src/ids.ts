/**
 * The one rule for ids and names of the event contract (`click_id`, `advertiser_id`, `ad_id`, `advertiser`):
 * a string of 1..max UTF-16 code units without C0 control characters or DEL (Postgres text cannot hold NUL;
 * the others have no business in a key) and without lone surrogates (not representable in UTF-8). Every other
 * character is allowed, braces, `%`, `/`, `:` and spaces included: the Redis keys encode what their syntax
 * needs (see advertiserKey in @adpipe/serving-client), the HTTP routes percent-decode path segments.
 */

/** Longest advertiser id, in UTF-16 code units (String#length). */
export const MAX_ADVERTISER_ID_LENGTH = 128;

export type IdProblem = "empty" | "too_long" | "invalid_characters";

/** True when `s` holds a control character (U+0000..U+001F, U+007F) or a lone surrogate. */
export function hasBadIdChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 127) return true;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff) return true;
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    }
  }
  return false;
}

/** What is wrong with `s` as an id of at most `max` code units, or null when it is a valid id. */
export function idProblem(s: string, max: number = MAX_ADVERTISER_ID_LENGTH): IdProblem | null {
  if (s.length === 0) return "empty";
  if (s.length > max) return "too_long";
  return hasBadIdChars(s) ? "invalid_characters" : null;
}

/** The advertiser-id rule: what the event contract, the API routes and the Redis keys all accept. */
export function isValidAdvertiserId(value: unknown): value is string {
  return typeof value === "string" && idProblem(value, MAX_ADVERTISER_ID_LENGTH) === null;
}
