/**
 * End-to-end: rerunning a sent 300-row CSV. The ledger is read for every row, in chunks, by
 * the built CLI (better-sqlite3 under the running Node); the rerun sends nothing, writes its
 * whole report and exits 0. (better-sqlite3 12 aborted the process part-way through this on
 * Node 24.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCliAsync, tempDir } from './support/cli.js';
import { juryCsv } from './support/rows.js';

const box = useSandbox();
let dir: string;
beforeEach(() => {
  dir = tempDir('cl-rerun-');
});

function send(file: string, out: string) {
  const args = ['send', file, '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db'), '-o', join(dir, out), '--yes', '-c', '8'];
  return runCliAsync(args, { cwd: dir, env: box.env() });
}

function statuses(out: string): string[] {
  const lines = readFileSync(join(dir, out, 'report.csv'), 'utf8').trim().split('\n');
  const col = lines[0]!.split(',').indexOf('status');
  return lines.slice(1).map((l) => l.split(',')[col]!);
}

describe('rerun of a sent CSV', () => {
  it('skips all 300 rows, sends nothing and exits 0 with the whole report', async () => {
    const file = join(dir, 'batch.csv');
    writeFileSync(file, juryCsv(300));
    const first = await send(file, 'out1');
    expect(first.code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(300);
    const again = await send(file, 'out2');
    expect(again.signal ?? null).toBeNull();
    expect(again.code).toBe(0);
    expect(statuses('out2')).toEqual(Array(300).fill('skipped'));
    expect(box.sandbox.letters).toHaveLength(300);
  });
});
