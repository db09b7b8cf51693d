/**
 * Numbers as the table and the chart show them.
 *
 * @module
 */

/** 12,345 / 123 / 12.3 / 1.23; a dash for nothing. */
export function formatNumber(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "—";
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return x.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** 0.87×; a dash for nothing. */
export function formatRatio(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? "—" : `${x.toFixed(2)}×`;
}

/** 0.87× (0.63–1.21), or just the ratio when there is no range. */
export function formatRatioRange(
  ratio: number | undefined,
  range: readonly [number, number] | undefined,
): string {
  if (range === undefined) return formatRatio(ratio);
  return `${formatRatio(ratio)} (${range[0].toFixed(2)}–${range[1].toFixed(2)})`;
}
