// Small statistics and formatting helpers for the benchmark reports. Pure functions.

/** Median of the finite numbers in `values`; NaN when there are none. */
export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}

/** Fixed decimals, or `-` for a missing value. */
export function fmt(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A Markdown table; numeric-looking columns are right-aligned. */
export function markdownTable(headers, rows) {
  const right = headers.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^[-\d.,×x/ ]*$/.test(String(r[i]))),
  );
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    line(headers),
    line(headers.map((_, i) => (right[i] ? '---:' : '---'))),
    ...rows.map((r) => line(r.map(String))),
  ].join('\n');
}
