/** A Redis string field as a safe integer; null when it is absent, empty or not a safe integer. */
export function toInt(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}
