/**
 * End-to-end: the built CLI's `preview` then `approve`, as a reviewer would run them: the sealed
 * batch is approved with rows left out, and a letter edited after the preview stops the approval.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir, writeTree } from './support/cli.js';

const PROV = 'aa11bb22cc33dd44ee55ff6677889900';
const LOC = '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';
const NAMES = ['Siobhan Quigley', 'Zoë Marchetti', 'Ignatius Pennywhistle', 'Ottoline Varga', 'Bartholomew Oyelaran'];

/** A previewed batch of five letters in `<dir>/out`. */
function previewedBatch(): { dir: string; out: string } {
  const dir = tempDir('cl-approve-e2e-');
  writeTree(dir, {
    'tpl/visit.hbs': '<html><body><p>Dear {{name}}, this letter is dated {{today}}.</p></body></html>\n',
    'in.csv': ['patientKey,providerKey,practiceLocationKey,name', ...NAMES.map((n, i) => `0f1e2d3c4b5a69788796a5b4c3d2e1f${i},${PROV},${LOC},${n}`)].join('\n') + '\n',
  });
  const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return { dir, out: join(dir, 'out') };
}

describe('approve', () => {
  it('approves a preview with rows excluded: approval.json, and the gallery shows the approver', () => {
    const { dir, out } = previewedBatch();
    expect(existsSync(join(out, 'batch.json'))).toBe(true);
    const r = runCli(['approve', 'out', '--by', 'Dr. Ada Smith', '--exclude', '2,4-5', '--yes'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('2 letters approved, 3 excluded (rows 2, 4, 5)');
    expect(r.stderr).toContain('templates: visit (2)');
    expect(r.stderr).toContain('from in.csv, rendered on ');
    expect(r.stderr).toContain(`gallery: ${join('out', 'index.html')}`);
    expect(r.stderr).toMatch(/approved: 2 letters by Dr\. Ada Smith at \S+ \(approval [0-9a-f-]{36}\)/);
    for (const name of NAMES) expect(r.stderr).not.toContain(name);
    const approval = JSON.parse(readFileSync(join(out, 'approval.json'), 'utf8')) as Record<string, unknown>;
    expect(approval).toMatchObject({ version: 1, approver: 'Dr. Ada Smith', approved: [1, 3], excluded: [2, 4, 5] });
    expect(statSync(join(out, 'approval.json')).mode & 0o777).toBe(0o600);
    const gallery = readFileSync(join(out, 'index.html'), 'utf8');
    expect(gallery).toContain('by <strong>Dr. Ada Smith</strong>');
    expect(gallery).toContain('3 excluded');

    const again = runCli(['approve', 'out', '--by', 'Someone Else', '--yes'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already approved by Dr. Ada Smith');
  });

  it('refuses a batch whose letter file was edited after the preview, naming that row; nothing is written', () => {
    const { dir, out } = previewedBatch();
    const file = join(out, 'letters', 'row-00003.html');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Dear', 'Dearest'));
    const gallery = readFileSync(join(out, 'index.html'), 'utf8');
    const r = runCli(['approve', 'out', '--by', 'Dr. Ada Smith', '--yes'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('1 row changed: row 3');
    expect(r.stderr).toContain('nothing was approved');
    expect(existsSync(join(out, 'approval.json'))).toBe(false);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toBe(gallery);
  });

  it('needs --yes without a terminal, and --by always (exit 2, nothing written)', () => {
    const { dir, out } = previewedBatch();
    const noYes = runCli(['approve', 'out', '--by', 'Dr. Ada Smith'], { cwd: dir });
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('approve needs --yes when standard input is not a terminal');
    const noBy = runCli(['approve', 'out', '--yes'], { cwd: dir });
    expect(noBy.code).toBe(2);
    expect(noBy.stderr).toContain("required option '--by <name>'");
    expect(existsSync(join(out, 'approval.json'))).toBe(false);
  });

  it('refuses a preview made with --no-files: not a preview with letter files', () => {
    const dir = tempDir('cl-approve-e2e-');
    writeTree(dir, {
      'tpl/visit.hbs': '<p>Dear {{name}}</p>\n',
      'in.csv': `patientKey,providerKey,practiceLocationKey,name\n0f1e2d3c4b5a69788796a5b4c3d2e1f0,${PROV},${LOC},${NAMES[0]}\n`,
    });
    expect(runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'out', '--no-files'], { cwd: dir }).code).toBe(0);
    const r = runCli(['approve', 'out', '--by', 'Ada', '--yes'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('out is not a preview with letter files (no batch.json)');
  });
});
