/**
 * End-to-end: the built CLI's `watch` against the sandbox (in this process, port 0).
 * Waits poll server counters and folders; no assertion depends on timing windows.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCliAsync, startCli, tempDir, waitFor } from './support/cli.js';
import { juryCsv, juryRows, type JuryOptions } from './support/rows.js';

const box = useSandbox();
let dir: string;
let inbox: string;
beforeEach(() => {
  dir = tempDir('cl-watch-');
  inbox = join(dir, 'inbox');
  mkdirSync(inbox);
});

/** Patients from, from + 1, …: "Person p" with key number p + 1; patient `blankName` has no name. */
const patients = (from: number, blankName = -1): JuryOptions => ({
  first: from + 1,
  pad: 'b',
  fields: (i) => ({ patientName: from + i === blankName ? '' : `Person ${from + i}` }),
});
/** The rows (no header) of patients from to to - 1. */
const rows = (from: number, to: number): string => juryRows(to - from, patients(from));
/** A CSV of patients 0 to n - 1. */
const csv = (n: number, blankName = -1): string => juryCsv(n, patients(0, blankName));
/** Write a file whose last change is well in the past (a settled drop). */
function drop(name: string, content: string, ageSeconds = 60): void {
  const file = join(inbox, name);
  writeFileSync(file, content);
  const t = Date.now() / 1000 - ageSeconds;
  utimesSync(file, t, t);
}

const env = () => box.env();
const args = (extra: string[] = []) => ['watch', inbox, '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db'), ...extra];
const once = (extra: string[] = []) => runCliAsync(args(['--once', ...extra]), { cwd: dir, env: env() });
const list = (sub: string) => readdirSync(join(inbox, sub)).sort();

describe('watch', () => {
  it('with --once exits 0 and does nothing on an empty inbox', async () => {
    const r = await once();
    expect(r.code).toBe(0);
    expect(list('processing')).toEqual([]);
  });

  it('sends two files in one run, oldest first, and leaves nothing in processing/', async () => {
    drop('new.csv', csv(2), 30);
    drop('old.csv', juryCsv(3, patients(10)), 90);
    const r = await once();
    expect(r.code).toBe(0);
    expect(r.stderr.indexOf('taking old.csv')).toBeLessThan(r.stderr.indexOf('taking new.csv'));
    expect(list('done')).toEqual(['new.csv', 'new.csv.report', 'old.csv', 'old.csv.report']);
    expect(list('processing')).toEqual([]);
    expect(box.sandbox.letters).toHaveLength(5);
    const status = JSON.parse(readFileSync(join(inbox, '.canvas-letters', 'status.json'), 'utf8'));
    expect(status.files).toEqual({ done: 2, failed: 0 });
    expect(status.lastPollAt).toBeTruthy();
  });

  it('sends nothing for a re-dropped file and never overwrites in done/', async () => {
    drop('a.csv', csv(3));
    expect((await once()).code).toBe(0);
    drop('a.csv', csv(3));
    const r = await once();
    expect(r.code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(3);
    const done = list('done');
    expect(done).toContain('a.csv');
    const renamed = done.find((f) => /^a-\d{8}-\d{6}\.csv$/.test(f));
    expect(renamed).toBeDefined();
    const report = JSON.parse(readFileSync(join(inbox, 'done', `${renamed}.report`, 'report.json'), 'utf8'));
    expect(report.summary.counts.skipped).toBe(3);
  });

  it('moves a file with invalid rows to failed/ with its errors, and --once exits 1', async () => {
    drop('bad.csv', csv(3, 1));
    const r = await once();
    expect(r.code).toBe(1);
    expect(list('failed')).toEqual(['bad.csv', 'bad.csv.errors.txt', 'bad.csv.report']);
    expect(readFileSync(join(inbox, 'failed', 'bad.csv.errors.txt'), 'utf8')).toContain('row 2, column patientName: empty');
    expect(box.sandbox.letters).toHaveLength(0);
  });

  it('does not take a file that is still growing until it settles', async () => {
    const run = startCli(args(['--interval', '0.1', '--settle', '1']), { cwd: dir, env: env() });
    const file = join(inbox, 'grow.csv');
    writeFileSync(file, csv(2));
    for (let i = 1; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 250));
      appendFileSync(file, rows(i * 2, i * 2 + 2));
      expect(box.sandbox.stats().letterRequests).toBe(0); // still growing: not taken
      expect(existsSync(file)).toBe(true);
    }
    await waitFor(() => existsSync(join(inbox, 'done', 'grow.csv')));
    expect(box.sandbox.letters).toHaveLength(12);
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(0);
  });

  it('takes a file renamed into place at once, without waiting to settle', async () => {
    const run = startCli(args(['--interval', '0.1', '--settle', '60']), { cwd: dir, env: env() });
    await waitFor(() => existsSync(join(inbox, '.canvas-letters', 'status.json')));
    writeFileSync(join(inbox, 'r.csv.part'), csv(2));
    await new Promise((r) => setTimeout(r, 300)); // the producer closes the file, then renames it
    renameSync(join(inbox, 'r.csv.part'), join(inbox, 'r.csv'));
    await waitFor(() => existsSync(join(inbox, 'done', 'r.csv')));
    expect(box.sandbox.letters).toHaveLength(2);
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(0);
  });

  it('lets only one watcher run per inbox', async () => {
    const first = startCli(args(['--interval', '0.1']), { cwd: dir, env: env() });
    await waitFor(() => existsSync(join(inbox, '.canvas-letters', 'watch.owner.json')));
    const second = await once();
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`already watched by process ${first.child.pid}`);
    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(0);
    expect((await once()).code).toBe(0); // the lock is free again
  });

  it('resumes a file left in processing/ by a crash, without sending anything twice', async () => {
    box.sandbox.setFaults({ latencyMs: 300 });
    drop('crash.csv', csv(12));
    const run = startCli(args(['--interval', '0.1', '-c', '2']), { cwd: dir, env: env() });
    await waitFor(() => box.sandbox.letters.length >= 2 && box.sandbox.stats().inFlight > 0);
    run.child.kill('SIGKILL');
    await run.done;
    expect(list('processing')).toContain('crash.csv');
    await waitFor(() => box.sandbox.letters.length === box.sandbox.stats().letterRequests);
    box.sandbox.setFaults({ latencyMs: 0 });
    const r = await once();
    expect(r.stderr).toContain('resuming crash.csv');
    expect(list('processing')).toEqual([]);
    // The rows in flight at the crash are unknown, so the file ends in failed/; the rest were sent.
    expect(r.code).toBe(1);
    expect(list('failed')).toContain('crash.csv');
    const keys = box.sandbox.letters.map((l) => l.patientKey);
    expect(new Set(keys).size).toBe(keys.length);
    const report = JSON.parse(readFileSync(join(inbox, 'failed', 'crash.csv.report', 'report.json'), 'utf8'));
    expect(report.rows).toHaveLength(12);
    expect(report.summary.counts.sent + report.summary.counts.skipped + report.summary.counts.unknown).toBe(12);
  });

  it('exits 2 when the inbox does not exist', async () => {
    const r = await runCliAsync(['watch', join(dir, 'nope'), '--once', '-t', 'jury-duty'], { cwd: dir, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such folder/);
  });
});
