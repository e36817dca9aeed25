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

const box = useSandbox();
let dir: string;
beforeEach(() => {
  dir = tempDir('cl-rerun-');
});

const HEADER = 'patientKey,providerKey,practiceLocationKey,patientName,dateOfBirth,summonsDate,excuseUntil,practiceName,practiceAddress,practicePhone,providerName,providerCredentials';
function csv(n: number): string {
  let out = `${HEADER}\n`;
  for (let i = 0; i < n; i++) {
    const key = (i + 1).toString(16).padStart(32, 'c');
    out += `${key},aa11bb22cc33dd44ee55ff6677889900,3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8,Person ${i},1970-01-01,2026-12-14,2027-03-31,Maple,"1 Main St, X",(541) 555-0142,Dr. V,MD\n`;
  }
  return out;
}

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
    writeFileSync(file, csv(300));
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
