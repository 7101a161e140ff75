/**
 * Ordering and grouping for the page's lists and charts. Pure: no DOM, no fetch (unit-tested with fast-check).
 */

/** Digits compare as numbers ("Advertiser 2" before "Advertiser 10"); case and accents only break ties. */
const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/**
 * A total order for display names: the natural order, then code units, so names the collator holds equal
 * ("a" and "A", "02" and "2") still land in one fixed order whatever order they arrived in.
 */
export function naturalCompare(a: string, b: string): number {
  const natural = collator.compare(a, b);
  if (natural !== 0) return natural;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A sorted copy, by `key` in natural order. */
export function naturalSort<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((x, y) => naturalCompare(key(x), key(y)));
}

/** One plotted series: a name and one value per point (null where it has none), in micros. */
export interface Series {
  readonly label: string;
  readonly values: readonly (bigint | null)[];
}

/** The series a chart draws: every one, or the top ones and an "others" series standing for the rest. */
export interface GroupedSeries {
  readonly shown: readonly Series[];
  /** The series folded into `others` (empty when every series is shown). */
  readonly folded: readonly string[];
  /** Point-wise sum of the folded series (null where none of them has a value); null when nothing is folded. */
  readonly others: Series | null;
}

export const OTHERS_LABEL = "others";

function weight(series: Series): bigint {
  return series.values.reduce<bigint>((sum, value) => sum + (value ?? 0n), 0n);
}

/**
 * At most `limit` series in a chart, so its legend can name every line: all of them when they fit, else the
 * `limit - 1` heaviest (largest sum of values; ties in natural order of the label) and one "others" series, the
 * point-wise sum of the rest. Exact: values are micros, the sums are BigInt. Shown series keep natural order.
 */
export function topWithOthers(series: readonly Series[], limit: number): GroupedSeries {
  if (!Number.isInteger(limit) || limit < 2)
    throw new RangeError(`limit must be an integer >= 2, got ${limit}`);
  if (series.length <= limit) return { shown: naturalSort(series, (s) => s.label), folded: [], others: null };
  const ranked = [...series].sort((x, y) => {
    const wx = weight(x);
    const wy = weight(y);
    return wx === wy ? naturalCompare(x.label, y.label) : wx > wy ? -1 : 1;
  });
  const kept = ranked.slice(0, limit - 1);
  const rest = ranked.slice(limit - 1);
  const points = Math.max(...series.map((s) => s.values.length));
  const values: (bigint | null)[] = [];
  for (let i = 0; i < points; i += 1) {
    let sum: bigint | null = null;
    for (const s of rest) {
      const value = s.values[i];
      if (value !== null && value !== undefined) sum = (sum ?? 0n) + value;
    }
    values.push(sum);
  }
  return {
    shown: naturalSort(kept, (s) => s.label),
    folded: naturalSort(
      rest.map((s) => s.label),
      (label) => label,
    ),
    others: { label: `${OTHERS_LABEL} (${rest.length})`, values },
  };
}
