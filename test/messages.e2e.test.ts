/**
 * End-to-end: the messages a new user meets in preview and watch say what to do next, once, and
 * name only paths that exist (the built CLI, as a user would run it).
 */
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, runCliAsync, tempDir, writeTree } from './support/cli.js';
import { useSandbox } from './support/sandbox.js';

const box = useSandbox();

const P = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const PROV = 'aa11bb22cc33dd44ee55ff6677889900';
const LOC = '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';

function project(templates: Record<string, string>, csv: string): string {
  const dir = tempDir('cl-msg-e2e-');
  writeTree(dir, { 'in.csv': csv, ...Object.fromEntries(Object.entries(templates).map(([k, v]) => [`tpl/${k}`, v])) });
  return dir;
}

const preview = (dir: string, extra: string[] = []) => runCli(['preview', 'in.csv', '--templates-dir', 'tpl', '-o', 'out', ...extra], { cwd: dir });

function lines(n: number, row: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => row(i)).join('\n') + '\n';
}

/** stderr lines that mention a column or row (the problems). */
const problemLines = (stderr: string) => stderr.split('\n').filter((l) => /column |^row /.test(l));

describe('messages that say what to do next', () => {
  it('300 rows with no template column and no -t give one line with the count', () => {
    const dir = project({ 'letter.hbs': '<p>{{name}}</p>' }, `patientKey,providerKey,practiceLocationKey,name\n${lines(300, () => `${P},${PROV},${LOC},Ann`)}`);
    const r = preview(dir);
    expect(r.code).toBe(2);
    expect(problemLines(r.stderr)).toEqual(['column template: empty in all 300 rows: give -t <name> or add a template column']);
    const report = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')) as { rows: { error: string }[] };
    expect(report.rows).toHaveLength(300);
    expect(report.rows.every((row) => row.error === 'column template: empty (give -t <name> or add a template column)')).toBe(true);
  });

  it('a column of provider names mapped to providerKey says once that they look like names, never printing one', () => {
    const dir = project({ 'letter.hbs': '<p>hi</p>' }, `Patient,Provider,Location\n${lines(600, (i) => `${P},Dr Vera Ruiz ${'ABC'[i % 3]},${LOC}`)}`);
    const r = preview(dir, ['-t', 'letter', '--map', 'patientKey=Patient', '--map', 'providerKey=Provider', '--map', 'practiceLocationKey=Location']);
    expect(r.code).toBe(2);
    const hints = r.stderr.split('\n').filter((l) => l.includes('look like names'));
    expect(hints).toEqual([
      'column providerKey ("Provider"): 600 values look like names, not Canvas keys; a Canvas key is the id in the chart\'s URL or from the FHIR API (Practitioner.id): map the key column with --map providerKey="<column>" or give --provider <key>',
    ]);
    expect(problemLines(r.stderr)).toHaveLength(2); // the grouped malformed-key line, and the hint
    expect(r.stderr).not.toContain('Vera');
  });

  it('{{First Name}} suggests the bracket form and --map, naming the CSV column, the file and the line', () => {
    const dir = project({ 'letter.hbs': '<p>Dear\n{{First Name}},</p>' }, `patientKey,providerKey,practiceLocationKey,First Name\n${P},${PROV},${LOC},Ann\n`);
    const r = preview(dir, ['-t', 'letter']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'tpl', 'letter.hbs')}, line 2: unknown helper "First": {{First Name}} reads as helper "First" with a parameter; the CSV has a column "First Name": write {{[First Name]}}, or --map firstName="First Name" and {{firstName}}`);
  });

  it('day-first dates preview with --date-input DD/MM/YYYY, and without it are refused naming the setting', () => {
    const tpl = { 'letter.hbs': '<p>born {{formatDate dob "long"}}</p>' };
    const dir = project(tpl, `patientKey,providerKey,practiceLocationKey,Date of Birth\n${P},${PROV},${LOC},14/03/1958\n${P},${PROV},${LOC},02/01/1960\n`);
    const refused = preview(dir, ['-t', 'letter', '--map', 'dob=Date of Birth']);
    expect(refused.code).toBe(2);
    expect(problemLines(refused.stderr)).toEqual([
      'row 1, column Date of Birth: not a date (expected YYYY-MM-DD or MM/DD/YYYY; for day-first dates set "dateInput": "DD/MM/YYYY" in canvas-letters.config.json, --date-input DD/MM/YYYY, or formatDate … input="DD/MM/YYYY")',
    ]);
    const ok = preview(dir, ['-t', 'letter', '--map', 'dob=Date of Birth', '--date-input', 'DD/MM/YYYY', '-o', 'out2']);
    expect(ok.code).toBe(0);
    expect(readFileSync(join(dir, 'out2', 'letters', 'row-00001.html'), 'utf8')).toContain('born March 14, 1958');
    expect(readFileSync(join(dir, 'out2', 'letters', 'row-00002.html'), 'utf8')).toContain('born January 2, 1960');
    const bad = preview(dir, ['-t', 'letter', '--date-input', 'YYYY-DD-MM', '-o', 'out3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--date-input YYYY-DD-MM: not a date order: give --date-input MM/DD/YYYY or --date-input DD/MM/YYYY');
  });

  it('the preview summary names index.html beside report.csv when the letter files were written, and not with --no-files', () => {
    const dir = project({ 'letter.hbs': '<p>hi</p>' }, `patientKey,providerKey,practiceLocationKey\n${P},${PROV},${LOC}\n`);
    const r = preview(dir, ['-t', 'letter']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`report: ${join(dir, 'out', 'report.csv')}`);
    expect(r.stderr).toContain(`gallery: ${join(dir, 'out', 'index.html')} (open it in a browser to review the letters)`);
    const none = preview(dir, ['-t', 'letter', '--no-files', '-o', 'out2']);
    expect(none.code).toBe(0);
    expect(none.stderr).not.toContain('gallery:');
  });
});

describe('watch names paths that exist', () => {
  it('a file refused before validation prints its errors file in failed/, no report path, and no processing/ path', async () => {
    const dir = tempDir('cl-msg-watch-');
    const inbox = join(dir, 'inbox');
    mkdirSync(inbox);
    const file = join(inbox, 'empty.csv');
    writeFileSync(file, 'patientKey,providerKey,practiceLocationKey\n'); // a header, no rows: refused before validation
    const t = Date.now() / 1000 - 60;
    utimesSync(file, t, t);
    const r = await runCliAsync(['watch', inbox, '--once', '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db')], { cwd: dir, env: box.env() });
    expect(r.code).toBe(1);
    const failed = join(inbox, 'failed', 'empty.csv');
    expect(r.stderr).toContain(`empty.csv: ${failed}: has a header but no data rows`);
    expect(r.stderr).toContain(`empty.csv → ${failed} (errors: ${failed}.errors.txt)`);
    expect(existsSync(`${failed}.errors.txt`)).toBe(true);
    expect(readFileSync(`${failed}.errors.txt`, 'utf8')).not.toContain('processing');
    expect(r.stderr).not.toContain('report:');
    expect(r.stderr).not.toContain(join(inbox, 'processing'));
  });

  it('a file with invalid rows names its report in failed/, where it is', async () => {
    const dir = tempDir('cl-msg-watch-');
    const inbox = join(dir, 'inbox');
    mkdirSync(inbox);
    const file = join(inbox, 'bad.csv');
    writeFileSync(file, `patientKey,providerKey,practiceLocationKey,patientName\n${P},${PROV},${LOC},\n`);
    const t = Date.now() / 1000 - 60;
    utimesSync(file, t, t);
    const r = await runCliAsync(['watch', inbox, '--once', '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db')], { cwd: dir, env: box.env() });
    expect(r.code).toBe(1);
    const failed = join(inbox, 'failed', 'bad.csv');
    expect(r.stderr).toContain(`bad.csv → ${failed} (report: ${failed}.report/report.csv; errors: ${failed}.errors.txt)`);
    expect(existsSync(`${failed}.report/report.csv`)).toBe(true);
    expect(r.stderr).not.toContain(join(inbox, 'processing'));
  });
});
