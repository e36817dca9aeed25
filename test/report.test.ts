import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReportWriter, exitCodeFor, neutraliseFormula } from '../src/report/writer.js';
import { REPORT_COLUMNS, emptyCounts } from '../src/types.js';

const base = { patientKey: 'p1', providerKey: 'v1', practiceLocationKey: 'l1', template: 't' };

describe('report', () => {
  it('writes exactly the contract columns, rows as added, and report.json in row order', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cl-report-')), 'out');
    const w = new ReportWriter(out);
    w.add({ row: 2, status: 'previewed', ...base, preview: 'letters/row-00002.html' });
    w.add({ row: 1, status: 'invalid', ...base, error: 'column name: empty' });
    const s = await w.close({ command: 'preview', csv: 'x.csv', out, startedAt: 'now', refused: false, interrupted: false });
    const lines = readFileSync(join(out, 'report.csv'), 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe(REPORT_COLUMNS.join(','));
    expect(lines[1]).toBe('2,previewed,p1,v1,l1,t,,,,,letters/row-00002.html');
    expect(lines[2]).toBe('1,invalid,p1,v1,l1,t,,,,column name: empty,');
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(json.rows.map((r: { row: number }) => r.row)).toEqual([1, 2]);
    expect(json.summary.counts.invalid).toBe(1);
    expect(s.exitCode).toBe(1);
  });

  it('creates the report 0600 in a 0700 folder', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cl-report-')), 'a', 'b');
    const w = new ReportWriter(out);
    await w.close({ command: 'preview', csv: 'x.csv', out, startedAt: 'now', refused: false, interrupted: false });
    expect(statSync(out).mode & 0o777).toBe(0o700);
    expect(statSync(join(out, 'report.csv')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'report.json')).mode & 0o777).toBe(0o600);
  });

  it('neutralises cells that a spreadsheet would run as formulas', () => {
    for (const c of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) expect(neutraliseFormula(c)).toBe(`'${c}`);
    expect(neutraliseFormula('a=1')).toBe('a=1');
  });

  it('maps counts to the contract exit codes', () => {
    const c = emptyCounts();
    c.previewed = 3;
    c.skipped = 1;
    expect(exitCodeFor(c)).toBe(0);
    expect(exitCodeFor(c, { refused: true })).toBe(2);
    expect(exitCodeFor(c, { interrupted: true })).toBe(130);
    for (const bad of ['invalid', 'failed', 'unknown', 'not_attempted'] as const) {
      expect(exitCodeFor({ ...c, [bad]: 1 })).toBe(1);
    }
  });
});
