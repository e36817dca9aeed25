/**
 * End-to-end: the built CLI's `preview` and `templates` commands on files the project has
 * never seen, each test one user-visible promise.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, writeTree } from './support/cli.js';

const P1 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const P2 = '1a2b3c4d5e6f708192a3b4c5d6e7f809';
const P3 = '9a8b7c6d5e4f30211203f4e5d6c7b8a9';
const PROV = 'aa11bb22cc33dd44ee55ff6677889900';
const LOC = '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';

/** A templates folder of our own: letter with a partial, a stylesheet, an optional field. */
function templatesDir(dir: string, extra: Record<string, string> = {}): string {
  return writeTree(join(dir, 'tpl'), {
    'styles.css': '.name { font-weight: bold; color: #123456; }\n@media print { .name { color: black; } }\n',
    'partials/footer.hbs': '<p class="footer">Seen by {{doctor}}</p>',
    'visit.hbs':
      '<!doctype html><html><head><meta charset="utf-8"><style>p { margin: 0 0 8px; }</style></head><body>' +
      '<p>Dear <span class="name">{{name}}</span>,</p>{{#if note}}<p>Note: {{note}}</p>{{/if}}{{> footer}}</body></html>\n',
    'excuse.hbs': '<html><body><p>{{upper name}} is excused.</p>{{> footer}}</body></html>\n',
    ...extra,
  });
}

function csv(lines: string[], eol = '\n'): string {
  return lines.join(eol) + eol;
}

function readReport(out: string): string[][] {
  return readFileSync(join(out, 'report.csv'), 'utf8').trimEnd().split('\n').map((l) => l.split(','));
}

describe('preview', () => {
  it('renders one inlined, escaped letter per row with a report in the contract format', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, {
      'in.csv': csv([
        'patientKey,providerKey,practiceLocationKey,name,doctor,note',
        `${P1},${PROV},${LOC},<script>alert(1)</script>,Dr. Who & Co,"said ""hi"""`,
        `${P2},${PROV},${LOC},Zoë O'Brien,Dr. Núñez,`,
      ]),
    });
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
    expect(r.stderr).toContain('2 previewed');
    expect(r.code).toBe(0);
    const out = join(dir, 'out');
    const rows = readReport(out);
    expect(rows[0]).toEqual(['row', 'status', 'patientKey', 'providerKey', 'practiceLocationKey', 'template', 'httpStatus', 'letterId', 'attempts', 'error', 'preview']);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[5]])).toEqual([['1', 'previewed', 'visit'], ['2', 'previewed', 'visit']]);
    const letter = readFileSync(join(out, rows[1]![10]!), 'utf8');
    expect(letter).not.toContain('<script>');
    expect(letter).toContain('&lt;script&gt;');
    expect(letter).toMatch(/Dr\. Who &amp; Co/);
    expect(letter).toMatch(/style="[^"]*font-weight: bold/);
    expect(letter).toContain('Seen by');
    expect(letter).toContain('@media print');
    const styleBlocks = letter.match(/<style[^>]*>[\s\S]*?<\/style>/g) ?? [];
    for (const block of styleBlocks) expect(block).toContain('@media');
    const second = readFileSync(join(out, rows[2]![10]!), 'utf8');
    expect(second).not.toContain('Note:');
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });

  it('writes its output folders 0700 and files 0600', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, { 'in.csv': csv(['patientKey,providerKey,practiceLocationKey,name,doctor', `${P1},${PROV},${LOC},Ann,Dr. B`]) });
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out/nested'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = join(dir, 'out', 'nested');
    for (const d of [join(dir, 'out'), out, join(out, 'letters')]) expect(statSync(d).mode & 0o777).toBe(0o700);
    for (const f of ['report.csv', 'report.json', 'index.html', 'letters/row-00001.html']) {
      expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
    }
  });

  it('reads a BOM + CRLF semicolon file and picks the template per row', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, {
      'in.csv': '\uFEFF' + csv(['patientKey;providerKey;practiceLocationKey;name;doctor;template', `${P1};${PROV};${LOC};Ann;Dr. B;excuse`, `${P2};${PROV};${LOC};"Lee; Jr";Dr. B;`], '\r\n'),
    });
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
    expect(r.code).toBe(0);
    const rows = readReport(join(dir, 'out'));
    expect(rows.slice(1).map((r) => r[5])).toEqual(['excuse', 'visit']);
    expect(readFileSync(join(dir, 'out', rows[1]![10]!), 'utf8')).toContain('ANN is excused.');
    expect(readFileSync(join(dir, 'out', rows[2]![10]!), 'utf8')).toContain('Lee; Jr');
  });

  it('reads fields through --map and fills keys from --provider and --location', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, { 'in.csv': csv(['Patient ID,Full Name,doctor', `${P1},Ann,Dr. B`]) });
    const r = runCli(
      ['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out', '--map', 'patientKey=Patient ID', '--map', 'name=Full Name', '--provider', PROV, '--location', LOC],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    expect(readReport(join(dir, 'out'))[1]!.slice(1, 5)).toEqual(['previewed', P1, PROV, LOC]);
  });

  it('refuses a file with invalid rows, listing every problem by row and column, and exits 2', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, {
      'in.csv': csv([
        'patientKey,providerKey,practiceLocationKey,name,doctor',
        `${P1},${PROV},${LOC},Ann,Dr. B`,
        `${P2},${PROV},${LOC},,Dr. B`,
        `bad key!,${PROV},${LOC},Cy,Dr. B`,
      ]),
    });
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('row 2, column name: empty');
    expect(r.stderr).toMatch(/row 3, column patientKey: malformed/);
    expect(existsSync(join(dir, 'out', 'letters'))).toBe(false);
    const statuses = readReport(join(dir, 'out')).slice(1).map((r) => r[1]);
    expect(statuses).toEqual(['not_attempted', 'invalid', 'invalid']);
  });

  it('previews the valid rows with --skip-invalid and exits 1', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, { 'in.csv': csv(['patientKey,providerKey,practiceLocationKey,name,doctor', `${P1},${PROV},${LOC},Ann,Dr. B`, `${P2},${PROV},${LOC},,Dr. B`]) });
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out', '--skip-invalid'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(readReport(join(dir, 'out')).slice(1).map((r) => r[1])).toEqual(['previewed', 'invalid']);
  });

  it('reports a column the template needs once, before rendering any row', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, { 'in.csv': csv(['patientKey,providerKey,practiceLocationKey,name', `${P1},${PROV},${LOC},Ann`, `${P2},${PROV},${LOC},Bo`]) });
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.match(/column doctor: missing/g)).toHaveLength(1);
  });

  it('skips a second row that would make the same letter', () => {
    const dir = tempDir();
    templatesDir(dir);
    const line = `${P1},${PROV},${LOC},Ann,Dr. B,unused-1`;
    writeTree(dir, { 'in.csv': csv(['patientKey,providerKey,practiceLocationKey,name,doctor,extra', line, line.replace('unused-1', 'unused-2'), `${P3},${PROV},${LOC},Ann,Dr. B,x`]) });
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
    expect(r.code).toBe(0);
    const rows = readReport(join(dir, 'out'));
    expect(rows[2]!.slice(0, 2)).toEqual(['2', 'skipped']);
    expect(rows[2]![9]).toBe('duplicate of row 1');
    expect(rows[3]![1]).toBe('previewed');
  });

  it('refuses a template with triple-stash, naming the file and line', () => {
    const dir = tempDir();
    templatesDir(dir, { 'raw.hbs': '<p>ok</p>\n<p>{{{name}}}</p>\n' });
    writeTree(dir, { 'in.csv': csv(['patientKey,providerKey,practiceLocationKey,name', `${P1},${PROV},${LOC},Ann`]) });
    const r = runCli(['preview', 'in.csv', '-t', 'raw', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/raw\.hbs, line 2/);
  });

  it('refuses unusable CSV files with exit 2, naming the file and the row', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, {
      'empty.csv': '',
      'header.csv': 'patientKey,providerKey,practiceLocationKey,name,doctor\n',
      'ragged.csv': csv(['patientKey,providerKey,practiceLocationKey,name,doctor', `${P1},${PROV},${LOC},Ann,Dr. B`, `${P2},${PROV},${LOC},Bo`]),
      'helper.csv': csv(['patientKey,providerKey,practiceLocationKey,name,doctor,upper', `${P1},${PROV},${LOC},Ann,Dr. B,x`]),
    });
    const args = (f: string) => ['preview', f, '-t', 'visit', '--templates-dir', 'tpl', '-o', `out-${f}`];
    const empty = runCli(args('empty.csv'), { cwd: dir });
    expect([empty.code, empty.stderr]).toEqual([2, expect.stringMatching(/empty\.csv.*empty/)]);
    const header = runCli(args('header.csv'), { cwd: dir });
    expect([header.code, header.stderr]).toEqual([2, expect.stringMatching(/header\.csv.*no data rows/)]);
    const ragged = runCli(args('ragged.csv'), { cwd: dir });
    expect([ragged.code, ragged.stderr]).toEqual([2, expect.stringMatching(/ragged\.csv: row 2/)]);
    const helper = runCli(args('helper.csv'), { cwd: dir });
    expect([helper.code, helper.stderr]).toEqual([2, expect.stringMatching(/helper\.csv.*column upper.*helper/)]);
  });

  it('never opens a socket', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, { 'in.csv': csv(['patientKey,providerKey,practiceLocationKey,name,doctor', `${P1},${PROV},${LOC},Ann,Dr. B`]) });
    const marker = join(dir, 'network.log');
    const preload = pathToFileURL(join(ROOT, 'test', 'support', 'no-network.mjs')).href;
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out'], {
      cwd: dir,
      env: { NODE_OPTIONS: `--import=${preload}`, NO_NETWORK_MARKER: marker },
    });
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(true); // the guard was loaded
    expect(readFileSync(marker, 'utf8')).toBe('');
  });

  it('keeps names and letter content out of its output, and neutralises formula cells in the report', () => {
    const dir = tempDir();
    templatesDir(dir);
    writeTree(dir, { 'in.csv': csv(['patientKey,providerKey,practiceLocationKey,name,doctor', `-${P1.slice(1)},${PROV},${LOC},Wilhelmina Zzyzx,Dr. B`]) });
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('Zzyzx');
    expect(JSON.parse(r.stdout).counts.previewed).toBe(1);
    expect(readReport(join(dir, 'out'))[1]![2]).toBe(`'-${P1.slice(1)}`);
  });

  it('previews the bundled samples', () => {
    const dir = tempDir();
    for (const [file, template] of [['jury-duty.csv', 'jury-duty'], ['school-note.csv', 'school-note']]) {
      const r = runCli(['preview', join(ROOT, 'samples', file!), '-t', template!, '-o', join(dir, template!)]);
      expect(r.stderr).toContain('previewed');
      expect(r.code).toBe(0);
      const letters = readdirSync(join(dir, template!, 'letters'));
      expect(letters.length).toBe(readReport(join(dir, template!)).length - 1);
    }
  });
});

describe('templates', () => {
  it('lists each template with its required and optional fields', () => {
    const dir = tempDir();
    templatesDir(dir);
    const r = runCli(['templates', '--templates-dir', 'tpl', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    const visit = list.find((t: { name: string }) => t.name === 'visit');
    expect(visit.required).toEqual(['doctor', 'name']);
    expect(visit.optional).toEqual(['note']);
  });
});

describe('cli', () => {
  it('prints its version and help, and exits 2 on a usage error', () => {
    expect(runCli(['--version']).code).toBe(0);
    const help = runCli(['preview', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--skip-invalid');
    expect(runCli(['preview', 'x.csv', '--bogus']).code).toBe(2);
    expect(runCli(['preview']).code).toBe(2);
  });
});
