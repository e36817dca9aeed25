/**
 * End-to-end: preview → approve → send --approved through the built CLI, against the sandbox.
 * Exactly the approved letter files' bytes arrive, with the approval id; an excluded row is not
 * attempted; the summary and the ledger name the approval; a plain send afterwards skips those
 * letters; approve says which letters the ledger records sent; an edited letter file refuses with
 * nothing sent; a CSV edited since the preview is noted and the approved bytes still go; a CSV and
 * --approved together refuse;
 * a send a week after the preview (the CLI's clock faked through the environment) still sends the
 * previewed bytes, dated the day of the preview.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { clockAt, runCli, runCliAsync, tempDir, writeTree } from './support/cli.js';

const box = useSandbox();
const PROV = 'aa11bb22cc33dd44ee55ff6677889900';
const LOC = '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';
const NAMES = ['Siobhan Quigley', 'Zoë Marchetti', 'Ignatius Pennywhistle'];

let dir: string;
beforeEach(() => {
  dir = tempDir('cl-send-approved-e2e-');
  writeTree(dir, {
    'tpl/visit.hbs': '<html><body><p>Dear {{name}}, this letter is dated {{today}}.</p></body></html>\n',
    'in.csv': ['patientKey,providerKey,practiceLocationKey,name', ...NAMES.map((n, i) => `0f1e2d3c4b5a69788796a5b4c3d2e1f${i},${PROV},${LOC},${n}`)].join('\n') + '\n',
  });
  expect(runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'review'], { cwd: dir }).code).toBe(0);
});

const env = () => box.env({ CANVAS_LETTERS_LEDGER: join(dir, 'ledger.db') });
const letterFile = (row: number) => join(dir, 'review', 'letters', `row-0000${row}.html`);

describe('send --approved', () => {
  it('sends exactly the approved letter files, carries the approval in the summary, the ledger and the sandbox; a plain send then skips them', async () => {
    expect(runCli(['approve', 'review', '--by', 'Dr. Ada Smith', '--exclude', '2', '--yes'], { cwd: dir }).code).toBe(0);
    const approval = JSON.parse(readFileSync(join(dir, 'review', 'approval.json'), 'utf8')) as { id: string };

    const r = await runCliAsync(['send', '--approved', 'review', '--yes', '--json', '-o', 'sent'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(1); // row 2 is not_attempted
    expect(r.stderr).toContain('2 sent');
    expect(r.stderr).toContain('About to create 2 letters in Canvas');
    expect(r.stderr).toContain('Of 3 rows: 1 not approved (not sent).');
    expect(r.stderr).toContain(`approved by Dr. Ada Smith (approval ${approval.id}`);
    for (const name of NAMES) expect(r.stderr).not.toContain(name);
    const summary = JSON.parse(r.stdout) as { approval: unknown; csv: string };
    expect(summary.approval).toEqual({ id: approval.id, approver: 'Dr. Ada Smith', dir: join(dir, 'review') });
    expect(summary.csv).toBe(join(dir, 'in.csv'));
    const report = JSON.parse(readFileSync(join(dir, 'sent', 'report.json'), 'utf8')) as { rows: { row: number; status: string; error?: string }[] };
    expect(report.rows.map((row) => [row.row, row.status, row.error])).toEqual([
      [1, 'sent', undefined],
      [2, 'not_attempted', 'not approved'],
      [3, 'sent', undefined],
    ]);

    const letters = box.sandbox.letters;
    expect(letters.map((l) => l.content)).toEqual([readFileSync(letterFile(1), 'utf8'), readFileSync(letterFile(3), 'utf8')]);
    expect(letters.map((l) => l.approvalId)).toEqual([approval.id, approval.id]);
    const inbox = (await (await fetch(`${box.sandbox.url}/sandbox/letters/${letters[0]!.id}`)).json()) as { approvalId: string };
    expect(inbox.approvalId).toBe(approval.id);

    const listed = runCli(['ledger', 'list', '--json'], { cwd: dir, env: env() });
    expect(listed.code, listed.stderr).toBe(0);
    const records = JSON.parse(listed.stdout) as { row: number; approvalId?: string; approver?: string }[];
    expect(records.map((rec) => [rec.row, rec.approvalId, rec.approver])).toEqual([
      [1, approval.id, 'Dr. Ada Smith'],
      [3, approval.id, 'Dr. Ada Smith'],
    ]);

    const plain = await runCliAsync(['send', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '--yes', '-o', 'plain'], { cwd: dir, env: env() });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain('1 sent');
    expect(plain.stderr).toContain('2 skipped');
    expect(box.sandbox.letters).toHaveLength(3);
    expect(box.sandbox.letters[2]!.approvalId).toBeUndefined();
  });

  it('approve says which letters the ledger already records sent, and send --approved then sends only the others', async () => {
    const plain = await runCliAsync(['send', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '--limit', '2', '--yes', '-o', 'plain'], { cwd: dir, env: env() });
    expect(plain.stderr).toContain('2 sent');
    const approved = runCli(['approve', 'review', '--by', 'Dr. Ada Smith', '--yes'], { cwd: dir, env: env() });
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stderr).toContain(`already sent: 2 of these letters (rows 1, 2), by the ledger ${join(dir, 'ledger.db')}: send --approved will skip them`);
    const r = await runCliAsync(['send', '--approved', 'review', '--yes', '-o', 'sent'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('1 sent');
    expect(r.stderr).toContain('2 skipped');
    expect(box.sandbox.letters.map((l) => l.patientKey)).toEqual(['0f1e2d3c4b5a69788796a5b4c3d2e1f0', '0f1e2d3c4b5a69788796a5b4c3d2e1f1', '0f1e2d3c4b5a69788796a5b4c3d2e1f2']);
  });

  it('approve refuses a batch the ledger records wholly sent, and says when it has no ledger to ask', async () => {
    const none = runCli(['approve', 'review', '--by', 'Dr. Ada Smith', '--yes', '--ledger', 'nowhere.db'], { cwd: dir, env: env() });
    expect(none.code, none.stderr).toBe(0);
    expect(none.stderr).toContain(`ledger: none at ${join(dir, 'nowhere.db')} (given by --ledger): nothing was sent with it yet`);
    expect(existsSync(join(dir, 'nowhere.db'))).toBe(false);
    const plain = await runCliAsync(['send', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '--yes', '-o', 'plain'], { cwd: dir, env: env() });
    expect(plain.code, plain.stderr).toBe(0);
    expect(runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'again'], { cwd: dir }).code).toBe(0);
    const r = runCli(['approve', 'again', '--by', 'Dr. Ada Smith', '--yes'], { cwd: dir, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('this batch was already sent: the ledger records all 3 letters to approve as sent; nothing was approved');
    expect(existsSync(join(dir, 'again', 'approval.json'))).toBe(false);
  });

  it('refuses a letter file edited after the approval (exit 2): the sandbox receives nothing and no ledger is made', async () => {
    expect(runCli(['approve', 'review', '--by', 'Dr. Ada Smith', '--yes'], { cwd: dir }).code).toBe(0);
    writeFileSync(letterFile(3), readFileSync(letterFile(3), 'utf8').replace('Dear', 'Dearest'));
    const r = await runCliAsync(['send', '--approved', 'review', '--yes', '-o', 'sent'], { cwd: dir, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('1 row changed: row 3');
    expect(r.stderr).toContain('nothing was sent');
    expect(box.sandbox.stats().letterRequests).toBe(0);
    expect(existsSync(join(dir, 'ledger.db'))).toBe(false);
    expect(existsSync(join(dir, 'sent'))).toBe(false);
  });

  it('a week after the preview, sends the letters byte for byte as previewed, dated the day of the preview', async () => {
    const previewed = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '-o', 'monday'], { cwd: dir, env: clockAt('2026-03-02T10:00:00') });
    expect(previewed.code, previewed.stderr).toBe(0);
    expect(runCli(['approve', 'monday', '--by', 'Dr. Ada Smith', '--yes'], { cwd: dir, env: clockAt('2026-03-03T09:00:00') }).code).toBe(0);
    const r = await runCliAsync(['send', '--approved', 'monday', '--yes', '-o', 'sent'], { cwd: dir, env: { ...env(), ...clockAt('2026-03-09T10:00:00') } });
    expect(r.code, r.stderr).toBe(0);
    const files = [1, 2, 3].map((row) => readFileSync(join(dir, 'monday', 'letters', `row-0000${row}.html`), 'utf8'));
    expect(box.sandbox.letters.map((l) => l.content)).toEqual(files);
    for (const content of files) {
      expect(content).toContain('March 2, 2026');
      expect(content).not.toContain('March 9');
    }
  });

  it('the CSV edited after the preview: the approved bytes are sent, and the edit is noted on stderr and in the summary', async () => {
    expect(runCli(['approve', 'review', '--by', 'Dr. Ada Smith', '--yes'], { cwd: dir }).code).toBe(0);
    writeFileSync(join(dir, 'in.csv'), readFileSync(join(dir, 'in.csv'), 'utf8').replace('Zoë Marchetti', 'Zoe Marchetti-Brown'));
    const r = await runCliAsync(['send', '--approved', 'review', '--yes', '--json', '-o', 'sent'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    const note = 'in.csv changed since the preview: the approved letter files are sent as they were approved';
    expect(r.stderr).toContain(`warning: ${join(dir, 'in.csv')} ${note.slice('in.csv '.length)}`);
    expect((JSON.parse(r.stdout) as { warnings: string[] }).warnings).toEqual([`${join(dir, 'in.csv')} ${note.slice('in.csv '.length)}`]);
    expect(box.sandbox.letters.map((l) => l.content)).toEqual([1, 2, 3].map((row) => readFileSync(letterFile(row), 'utf8')));
    expect(box.sandbox.letters[1]!.content).toContain('Zoë Marchetti,');
    expect(box.sandbox.letters.some((l) => l.content.includes('Marchetti-Brown'))).toBe(false);
  });

  it('refuses a preview not approved yet, a CSV with --approved, and neither (exit 2, nothing sent)', async () => {
    const notYet = await runCliAsync(['send', '--approved', 'review', '--yes'], { cwd: dir, env: env() });
    expect(notYet.code).toBe(2);
    expect(notYet.stderr).toContain('not approved yet');
    expect(notYet.stderr).toContain('run canvas-letters approve review --by <name>');
    const both = await runCliAsync(['send', 'in.csv', '--approved', 'review', '--yes'], { cwd: dir, env: env() });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('send takes a <csv> or --approved <preview-dir>, not both');
    const neither = await runCliAsync(['send', '--yes'], { cwd: dir, env: env() });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('send needs a <csv>, or --approved <preview-dir>');
    expect(box.sandbox.stats().letterRequests).toBe(0);
  });

  it('preview and watch do not have --approved', () => {
    const r = runCli(['preview', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '--approved', 'review'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--approved'");
  });
});

describe('approve and a ledger with letters of unknown outcome', () => {
  it('says the letters the ledger records sent and those of unknown outcome, each on its line, and still approves', async () => {
    box.sandbox.script('ok', '504', 'ok'); // row 2: a timeout, its outcome unknown
    const plain = await runCliAsync(['send', 'in.csv', '-t', 'visit', '--templates-dir', 'tpl', '--yes', '-c', '1', '-o', 'plain'], { cwd: dir, env: env() });
    expect(plain.stderr).toContain('2 sent');
    const approved = runCli(['approve', 'review', '--by', 'Dr. Ada Smith', '--yes'], { cwd: dir, env: env() });
    expect(approved.code, approved.stderr).toBe(0);
    const ledger = join(dir, 'ledger.db');
    expect(approved.stderr).toContain(`\n  already sent: 2 of these letters (rows 1, 3), by the ledger ${ledger}: send --approved will skip them\n`);
    expect(approved.stderr).toContain(
      `\n  ledger ${ledger}: 1 of these letters has an unknown outcome (row 2): it may already be in Canvas; check the charts and record what you found with canvas-letters ledger resolve before sending\n`,
    );
    expect(existsSync(join(dir, 'review', 'approval.json'))).toBe(true);
  });
});
