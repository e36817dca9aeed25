/**
 * End-to-end: `canvas-letters ledger list|resolve|export` with the built CLI, on a ledger a send
 * to the sandbox (504 faults) left with unknown rows: a person's resolution decides the next run.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCli, runCliAsync, tempDir } from './support/cli.js';
import { fullerNames, juryCsv } from './support/rows.js';

const box = useSandbox();
let dir: string;
let ledger: string;
beforeEach(() => {
  dir = tempDir('cl-ledger-tool-');
  ledger = join(dir, 'ledger.db');
});

/** A CSV of n jury-duty rows, the first with key number `first`. */
function writeCsv(name: string, n: number, first = 1): string {
  const file = join(dir, name);
  writeFileSync(file, juryCsv(n, { first, pad: 'a', fields: (i) => fullerNames(first + i) }));
  return file;
}

function send(csv: string, out: string) {
  return runCliAsync(['send', csv, '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', ledger, '-o', join(dir, out), '--yes', '-c', '1'], { cwd: dir, env: box.env() });
}

const ledgerCli = (args: string[]) => runCli(['ledger', ...args, '--ledger', ledger], { cwd: dir });

function report(out: string): Array<Record<string, string>> {
  return (JSON.parse(readFileSync(join(dir, out, 'report.json'), 'utf8')) as { rows: Array<Record<string, string>> }).rows;
}

describe('ledger list, resolve and export', () => {
  it('an unknown row is listed, resolved not-sent by file and row, then sent by a plain run; one resolved sent stays skipped', async () => {
    box.sandbox.script('ok', '504', '504');
    const csv = writeCsv('batch.csv', 3);
    expect((await send(csv, 'out1')).code).toBe(1);
    expect(report('out1').map((r) => r.status)).toEqual(['sent', 'unknown', 'unknown']);

    const listed = ledgerCli(['list', '--status', 'unknown', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const unknown = JSON.parse(listed.stdout) as Array<{ row: number; sourceFile: string; httpStatus: number; letterKey: string }>;
    expect(unknown.map((r) => [r.row, r.sourceFile, r.httpStatus])).toEqual([[2, csv, 504], [3, csv, 504]]);

    const notSent = ledgerCli(['resolve', '--file', 'batch.csv', '--row', '2', '--not-sent', '--by', 'Dr A']);
    expect(notSent.code, notSent.stderr).toBe(0);
    expect(notSent.stderr).toMatch(/row 2\): not-sent by Dr A .*\nit was unknown, now failed: the next plain send sends it/);
    const sent = ledgerCli(['resolve', unknown[1]!.letterKey, '--sent', '--letter-id', 'L-found', '--by', 'Dr B']);
    expect(sent.code, sent.stderr).toBe(0);
    const again = ledgerCli(['resolve', '--file', csv, '--row', '1', '--sent', '--by', 'Dr A']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/row 1\) is sent, and only an unknown or pending letter can be resolved/);

    const before = box.sandbox.stats().letterRequests;
    expect((await send(csv, 'out2')).code).toBe(0); // no --resend-unknown
    const rows = report('out2');
    expect(rows.map((r) => r.status)).toEqual(['skipped', 'sent', 'skipped']);
    expect(rows[2]!.error).toMatch(/^already sent \(ledger: resolved sent by Dr B \d{4}-\d{2}-\d{2}\)$/);
    expect(rows[2]!.letterId).toBe('L-found');
    expect(box.sandbox.stats().letterRequests).toBe(before + 1);

    const table = ledgerCli(['list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ROW +FILE +STATUS +PATIENT .* RESOLUTION$/);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatch(/ sent .* sent \(letter id L-found\) by Dr B \S+Z$/);

    const audit = join(dir, 'audit.csv');
    const exported = ledgerCli(['export', '-o', audit]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain('3 letters written to');
    expect(statSync(audit).mode & 0o777).toBe(0o600);
    const text = readFileSync(audit, 'utf8');
    expect(text).toMatch(/Z not-sent by Dr A/);
    expect(text).toMatch(/Z sent \(letter id L-found\) by Dr B/);
    const twice = ledgerCli(['export', '-o', audit]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/already exists/);
    expect(readFileSync(audit, 'utf8')).toBe(text);
  });

  it('export writes to stdout only with -o -, and neutralises a formula-looking letter id', async () => {
    box.sandbox.script('504');
    const csv = writeCsv('one.csv', 1);
    await send(csv, 'out1');
    expect(ledgerCli(['resolve', '--file', 'one.csv', '--row', '1', '--sent', '--letter-id', '=HYPERLINK("x")', '--by', '@boss']).code).toBe(0);
    const r = ledgerCli(['export', '-o', '-']);
    expect(r.code, r.stderr).toBe(0);
    const [header, row] = parse(r.stdout, {});
    expect(header!.slice(0, 3)).toEqual(['letterKey', 'status', 'patientKey']);
    expect(row![header!.indexOf('letterId')]).toBe(`'=HYPERLINK("x")`);
    expect(row![header!.indexOf('resolutions')]).toMatch(/Z sent \(letter id =HYPERLINK\("x"\)\) by @boss$/);
    for (const cell of row!) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('refuses a ledger that does not exist, naming where it looked, and creates none; a bad --since or --status is exit 2', () => {
    for (const sub of [['list'], ['export', '-o', '-'], ['resolve', 'k', '--sent', '--by', 'A']]) {
      const r = ledgerCli(sub);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`no ledger at ${ledger} (given by --ledger)`);
    }
    expect(existsSync(ledger)).toBe(false);
    expect(ledgerCli(['list', '--since', '2026-02-30']).code).toBe(2);
    expect(ledgerCli(['list', '--status', 'lost']).code).toBe(2);
  });

  it('resolve refuses an ambiguous base name, listing the files', async () => {
    box.sandbox.script('504', '504');
    const a = writeCsv('in.csv', 1);
    const sub = join(dir, 'b');
    mkdirSync(sub);
    const b = join(sub, 'in.csv');
    writeFileSync(b, readFileSync(writeCsv('tmp.csv', 1, 5)));
    await send(a, 'out1');
    await send(b, 'out2');
    const r = runCli(['ledger', 'resolve', '--file', 'in.csv', '--row', '1', '--not-sent', '--by', 'A', '--ledger', ledger], { cwd: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`in.csv is ambiguous: the ledger holds letters from 2 files of that name (${b}, ${a})`); // sorted
  });
});
