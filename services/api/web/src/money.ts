/**
 * Exact decimal arithmetic for the page: the API sends money as decimal strings (NUMERIC text), summed
 * here as BigInt micro-units so the totals on screen are exactly the warehouse's.
 */
const MICRO_DIGITS = 6;

export function decimalToMicros(text: string | null | undefined): bigint {
  if (text === null || text === undefined || text === "") return 0n;
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (match === null) return 0n;
  const [, sign = "", units = "0", fraction = ""] = match;
  const micros =
    BigInt(units) * 1_000_000n + BigInt(fraction.padEnd(MICRO_DIGITS, "0").slice(0, MICRO_DIGITS));
  return sign === "-" ? -micros : micros;
}

/** Six decimals, like the API: 1234500000n → "1234.500000". */
export function microsToDecimal(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const units = abs / 1_000_000n;
  const fraction = (abs % 1_000_000n).toString().padStart(MICRO_DIGITS, "0");
  return `${negative ? "-" : ""}${units}.${fraction}`;
}

/** For people: grouped thousands, two decimals rounded half up (the exact value is in a data attribute). */
export function displayMoney(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const cents = (abs + 5_000n) / 10_000n;
  const units = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${units}.${(cents % 100n).toString().padStart(2, "0")}`;
}

export function microsToNumber(micros: bigint): number {
  return Number(micros) / 1_000_000;
}
