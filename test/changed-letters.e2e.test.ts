/**
 * End-to-end through the built CLI and the sandbox: a template edited after a plain send makes
 * the rerun skip those rows saying the letter now differs (counted in the summary, nothing sent);
 * `--resend-changed --yes` sends them once as new letters (the sandbox receives the new text) and
 * the ledger keeps the superseded records; a later plain run skips them without the note. A
 * rerun a month later (the CLI's clock faked through the environment) finds no letter changed. A
 * template edited to print another column gives every row a new letter key: those rows are still
 * skipped as differing, and sent again only with --resend-changed.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, clockAt, runCli, runCliAsync, tempDir } from './support/cli.js';
import { juryCsv } from './support/rows.js';

const box = useSandbox();
let dir: string;
beforeEach(() => {
  dir = tempDir('cl-changed-');
  cpSync(join(ROOT, 'templates'), join(dir, 'templates'), { recursive: true });
});

function send(out: string, ...extra: string[]) {
  return sendAt(undefined, out, ...extra);
}

/** send, with the CLI's clock at `at` (an ISO time) when given. */
function sendAt(at: string | undefined, out: string, ...extra: string[]) {
  const args = ['send', join(dir, 'batch.csv'), '-t', 'jury-duty', '--templates-dir', join(dir, 'templates'), '--ledger', join(dir, 'ledger.db'), '-o', join(dir, out), '--yes', '--json', ...extra];
  return runCliAsync(args, { cwd: dir, env: { ...box.env(), ...(at !== undefined && clockAt(at)) } });
}

function report(out: string): Array<Record<string, string>> {
  return parse<Record<string, string>>(readFileSync(join(dir, out, 'report.csv'), 'utf8'), { columns: true });
}

const MARK = 'Corrected wording for the court.';

describe('changed letters, end to end', () => {
  it('a month later, unchanged templates: every row is skipped as already sent, none as differing, nothing sent', async () => {
    writeFileSync(join(dir, 'batch.csv'), juryCsv(3));
    expect((await sendAt('2026-03-02T10:00:00', 'out1')).code).toBe(0);
    const later = await sendAt('2026-04-02T10:00:00', 'out2');
    expect(later.code, later.stderr).toBe(0);
    expect(report('out2').map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped']);
    for (const r of report('out2')) expect(r.error).toMatch(/^already sent \(ledger: [^;]+\)$/);
    expect(JSON.parse(later.stdout)).not.toHaveProperty('changed');
    expect(box.sandbox.letters).toHaveLength(3);
  });

  it('an edited template: skipped as differing, then --resend-changed sends them once as new letters, then plain runs skip them', async () => {
    writeFileSync(join(dir, 'batch.csv'), juryCsv(3));
    expect((await send('out1')).code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(3);
    const template = join(dir, 'templates', 'jury-duty.hbs');
    writeFileSync(template, readFileSync(template, 'utf8').replace('{{today}}</p>', `{{today}}</p>\n<p>${MARK}</p>`));

    const second = await send('out2');
    expect(second.code).toBe(0);
    expect(report('out2').map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped']);
    for (const r of report('out2')) expect(r.error).toMatch(/^already sent \(ledger: .+\); the letter now differs from the one sent$/);
    expect(JSON.parse(second.stdout)).toMatchObject({ changed: 3, counts: { skipped: 3, sent: 0 } });
    expect(second.stderr).toContain('3 already sent but now different (skipped; --resend-changed sends them again)');
    expect(box.sandbox.letters).toHaveLength(3);

    const third = await send('out3', '--resend-changed');
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/About to create 3 letters .*\n3 of them were sent before and now differ: sent again as new letters/);
    expect(report('out3').map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    expect(JSON.parse(third.stdout)).toMatchObject({ changed: 3, resendChanged: true, counts: { sent: 3 } });
    expect(box.sandbox.letters).toHaveLength(6);
    expect(box.sandbox.letters.filter((l) => l.content.includes(MARK))).toHaveLength(3);

    // The ledger: each key sent with the new letter, the earlier one kept as superseded history.
    const db = new Database(join(dir, 'ledger.db'), { readonly: true });
    const history = db.prepare('SELECT letter_key, patient_key, s.letter_id, s.content_sha256, s.render_date, restored_at FROM superseded s JOIN letters USING (letter_key)').all() as Array<Record<string, string | null>>;
    const letters = db.prepare('SELECT letter_key, patient_key, status, letter_id, content_sha256 FROM letters').all() as Array<Record<string, string>>;
    db.close();
    const received = (patientKey: string, fresh: boolean) => box.sandbox.letters.find((l) => l.patientKey === patientKey && l.content.includes(MARK) === fresh)!.id;
    expect(history).toHaveLength(3);
    for (const h of history) {
      const now = letters.find((l) => l.letter_key === h.letter_key)!;
      expect(h).toMatchObject({ letter_id: received(h.patient_key!, false), restored_at: null });
      expect(h.render_date).toMatch(/^\d{4}-\d\d-\d\d$/);
      expect(h.content_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(h.content_sha256).not.toBe(now.content_sha256);
      expect(now).toMatchObject({ status: 'sent', letter_id: received(h.patient_key!, true) });
    }

    for (const out of ['out4', 'out5']) {
      const again = await send(out, ...(out === 'out5' ? ['--resend-changed'] : []));
      expect(again.code).toBe(0);
      expect(report(out).map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped']);
      for (const r of report(out)) expect(r.error).not.toMatch(/differs/);
      expect(JSON.parse(again.stdout)).not.toHaveProperty('changed');
    }
    expect(box.sandbox.letters).toHaveLength(6);
  });

  it('a template edited to print a column it did not use (every letter key new): skipped as differing, not sent again; --resend-changed sends them once', async () => {
    writeFileSync(join(dir, 'batch.csv'), juryCsv(3, { fields: () => ({ ward: 'North wing' }) }));
    expect((await send('out1')).code).toBe(0);
    const template = join(dir, 'templates', 'jury-duty.hbs');
    writeFileSync(template, readFileSync(template, 'utf8').replace('{{today}}</p>', `{{today}}</p>\n<p>Seen in the {{ward}}.</p>`));

    const second = await send('out2');
    expect(second.code, second.stderr).toBe(0);
    expect(report('out2').map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped']);
    for (const r of report('out2')) {
      expect(r.error).toMatch(/^already sent \(ledger: .+\); the letter now differs from the one sent \(its template's merge fields changed since, so its letter key is new\)$/);
    }
    expect(second.stderr).toContain('3 already sent but now different (skipped; --resend-changed sends them again)');
    expect(box.sandbox.letters).toHaveLength(3);

    const third = await send('out3', '--resend-changed');
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/About to create 3 letters .*\n3 of them were sent before and now differ: sent again as new letters/);
    expect(box.sandbox.letters.filter((l) => l.content.includes('Seen in the North wing.'))).toHaveLength(3);
    // The ledger records each letter with its template's fields signature: the old three and the new three.
    const db = new Database(join(dir, 'ledger.db'), { readonly: true });
    const signatures = db.prepare('SELECT fields_sha256 FROM letters').pluck().all() as string[];
    db.close();
    expect(signatures).toHaveLength(6);
    expect(new Set(signatures).size).toBe(2);
    const again = await send('out4', '--resend-changed');
    expect(again.code).toBe(0);
    expect(report('out4').map((r) => [r.status, r.error])).toEqual(Array(3).fill(['skipped', expect.stringMatching(/^already sent \(ledger: [^;]+\)$/)]));
    expect(box.sandbox.letters).toHaveLength(6);
  });

  it('after an optional block is added, the row that renders the letter sent is that letter, and a new letter to the same patient is held until --resend-changed: never a second copy', async () => {
    const patient = { patientKey: 'c'.repeat(31) + '1' };
    writeFileSync(join(dir, 'batch.csv'), juryCsv(1, { fields: () => ({ room: '' }) }));
    expect((await send('out1')).code).toBe(0);
    const template = join(dir, 'templates', 'jury-duty.hbs');
    writeFileSync(template, readFileSync(template, 'utf8').replace('{{today}}</p>', '{{today}}</p>{{#if room}}<p>Room {{room}}</p>{{/if}}'));
    // Row 1 as before (no room: the same letter); row 2 a new summons for the same patient.
    writeFileSync(join(dir, 'batch.csv'), juryCsv(2, { fields: (i) => ({ room: i === 0 ? '' : '12', ...(i === 1 && { ...patient, summonsDate: '2027-02-01' }) }) }));
    const same = /^already sent \(ledger: .+\); the letter is the same \(its template's merge fields changed since, so its letter key is new\)$/;
    const differs = /^already sent \(ledger: .+\); the letter now differs from the one sent \(its template's merge fields changed since, so its letter key is new\)$/;
    for (const out of ['out2', 'out3']) {
      const run = await send(out);
      expect(run.code, run.stderr).toBe(0);
      expect(report(out).map((r) => [r.status, r.error])).toEqual([['skipped', expect.stringMatching(same)], ['skipped', expect.stringMatching(differs)]]);
    }
    expect(box.sandbox.letters).toHaveLength(1);
    const resent = await send('out4', '--resend-changed');
    expect(resent.code, resent.stderr).toBe(0);
    expect(report('out4').map((r) => r.status)).toEqual(['skipped', 'sent']);
    expect(box.sandbox.letters.map((l) => l.content.includes('Room 12'))).toEqual([false, true]);
    for (const out of ['out5', 'out6']) {
      expect((await send(out, ...(out === 'out6' ? ['--resend-changed'] : []))).code).toBe(0);
      expect(report(out).map((r) => [r.status, r.error])).toEqual([['skipped', expect.stringMatching(same)], ['skipped', expect.stringMatching(/^already sent \(ledger: [^;]+\)$/)]]);
    }
    expect(box.sandbox.letters).toHaveLength(2);
  });

  it('a resend Canvas refuses keeps the earlier letter recorded as sent: the next plain run skips it with the note again', async () => {
    writeFileSync(join(dir, 'batch.csv'), juryCsv(2));
    expect((await send('out1')).code).toBe(0);
    const template = join(dir, 'templates', 'jury-duty.hbs');
    writeFileSync(template, readFileSync(template, 'utf8').replace('{{today}}</p>', `{{today}}</p>\n<p>${MARK}</p>`));
    box.sandbox.script('422', 'ok'); // one resend refused, the other created
    const resend = await send('out2', '--resend-changed');
    expect(resend.code).toBe(1);
    const rows = report('out2');
    expect(rows.map((r) => r.status).sort()).toEqual(['failed', 'sent']);
    const failed = rows.find((r) => r.status === 'failed')!;
    expect(failed.error).toContain('the letter sent earlier stays recorded as sent');
    expect(rows.find((r) => r.status === 'sent')!.error).toMatch(/^sent again as a new letter \(--resend-changed\)/);
    expect(box.sandbox.letters).toHaveLength(3);

    const list = runCli(['ledger', 'list', '--json', '--ledger', join(dir, 'ledger.db')], { cwd: dir, env: box.env() });
    expect(list.code).toBe(0);
    const records = JSON.parse(list.stdout) as Array<{ row: number; status: string; superseded?: number }>;
    expect(records.map((r) => r.status)).toEqual(['sent', 'sent']);
    expect(records.find((r) => String(r.row) === failed.row)!.superseded).toBeUndefined();
    expect(records.find((r) => String(r.row) !== failed.row)!.superseded).toBe(1);

    const again = await send('out3');
    expect(again.code).toBe(0);
    for (const r of report('out3')) {
      expect(r.status).toBe('skipped');
      if (r.row === failed.row) expect(r.error).toMatch(/the letter now differs from the one sent$/);
      else expect(r.error).not.toMatch(/differs/);
    }
    expect(JSON.parse(again.stdout)).toMatchObject({ changed: 1 });
    expect(box.sandbox.letters).toHaveLength(3);
  });
});
