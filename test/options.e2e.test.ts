/** End-to-end: every batch command takes the contract's whole option set. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from './support/cli.js';

const sample = join(ROOT, 'samples', 'jury-duty.csv');
const base = (dir: string) => ['preview', sample, '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '-o', join(dir, 'out')];

describe('preview options', () => {
  it('accepts the sending options of the contract and sends nothing, writing no ledger', () => {
    const dir = tempDir();
    const r = runCli([...base(dir), '-c', '2', '--rate', '5', '--timeout', '3', '--ledger', join(dir, 'l.db'), '--resend-unknown', '-y'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'l.db'))).toBe(false);
  });

  it('previews at most --limit letters and reports the rest not attempted', () => {
    const dir = tempDir();
    const r = runCli([...base(dir), '--limit', '3', '--no-files'], { cwd: dir });
    expect(r.code).toBe(1);
    const rows = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')).rows as Array<{ status: string; error?: string }>;
    expect(rows.filter((row) => row.status === 'previewed')).toHaveLength(3);
    expect(rows.filter((row) => row.status === 'not_attempted').every((row) => row.error === 'over --limit 3')).toBe(true);
    expect(rows).toHaveLength(20);
  });

  it('refuses a malformed number with exit 2', () => {
    const dir = tempDir();
    expect(runCli([...base(dir), '-c', 'zero'], { cwd: dir }).code).toBe(2);
    expect(runCli([...base(dir), '--limit', '0'], { cwd: dir }).code).toBe(2);
  });
});
