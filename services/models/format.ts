// Human-readable sizes for messages, tables and progress (decimal units, as Hugging Face shows file sizes).
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** 1093733 -> "1.09 MB", 382000000 -> "382 MB", 14398000000 -> "14.4 GB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '? B';
  let value = bytes;
  let unit = 0;
  while (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${Number(value.toPrecision(3))} ${UNITS[unit]}`;
}
