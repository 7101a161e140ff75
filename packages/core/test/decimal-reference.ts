/**
 * An independent BigInt reference for decimal → micros (half-to-even at 6 decimals), used by the property
 * tests to check the production arithmetic, which never uses BigInt on its hot path.
 */
export type Reference =
  | { ok: true; micros: bigint }
  | { ok: false; code: "not_numeric" | "too_precise" | "out_of_range" };

const GRAMMAR = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** `exact`: a value that is not a whole number of micros is too_precise (out_of_range wins) instead of rounded. */
export function referenceMicros(text: string, exact = false): Reference {
  const match = GRAMMAR.exec(text);
  if (match === null) return { ok: false, code: "not_numeric" };
  const [, sign, intPart = "", fracPart = "", expPart] = match;
  if (intPart.length + fracPart.length === 0) return { ok: false, code: "not_numeric" };
  const digits = BigInt(`${intPart}${fracPart}` || "0");
  const exponent = Number(expPart ?? "0") - fracPart.length + 6;
  let micros: bigint;
  if (digits === 0n) micros = 0n;
  else if (exponent >= 0) {
    if (exponent > 40) return { ok: false, code: "out_of_range" };
    micros = digits * 10n ** BigInt(exponent);
  } else {
    if (-exponent > 400) return { ok: false, code: "too_precise" };
    const divisor = 10n ** BigInt(-exponent);
    micros = digits / divisor;
    if (exact && digits % divisor !== 0n)
      return { ok: false, code: micros > MAX_SAFE ? "out_of_range" : "too_precise" };
    const twice = (digits % divisor) * 2n;
    if (twice > divisor || (twice === divisor && micros % 2n === 1n)) micros += 1n;
    if (micros === 0n) return { ok: false, code: "too_precise" };
  }
  if (micros > MAX_SAFE) return { ok: false, code: "out_of_range" };
  return { ok: true, micros: sign === "-" ? -micros : micros };
}

/** micros as a plain decimal string via BigInt, e.g. 1500000n → "1.500000". */
export function referenceFormat(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const text = `${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, "0")}`;
  return negative ? `-${text}` : text;
}
