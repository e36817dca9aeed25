/** Row lists as people type them: `7,12-15`. */
import { UsageError } from '../errors.js';
import { showName } from '../escape.js';

/** The most rows one range may name. */
const MAX_RANGE = 1_000_000;

/**
 * Parse `7,12-15` into row numbers, sorted, each once. Throws UsageError (exit 2) for anything
 * else: an empty item, a row 0, a range backwards or too large, a word.
 */
export function parseRowList(spec: string, option: string): number[] {
  const rows = new Set<number>();
  const items = spec.split(',').map((s) => s.trim());
  for (const item of items) {
    const m = /^(\d{1,9})(?:\s*-\s*(\d{1,9}))?$/.exec(item);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || from < 1 || to < from || to - from >= MAX_RANGE) {
      throw new UsageError(`${option} ${showName(spec)}: "${showName(item)}" is not a row or a range of rows`, `give rows like ${option} 7,12-15 (data rows count from 1)`);
    }
    for (let row = from; row <= to; row++) rows.add(row);
  }
  return [...rows].sort((a, b) => a - b);
}
