/**
 * A changed letter is not silently "already sent", in process: a row recorded sent with its
 * letter's sha256 and render date is rendered again at that date and compared. `{{today}}` and a
 * later clock alone never make it differ; an edited partial does; an old record without a hash
 * never does. A template edited to use other merge fields gives every row a new letter key: the
 * rows sent with the old fields are still found, by template and keys, and count as changed. The ledger keeps a superseded letter's record, and a resend that created nothing
 * gives the earlier record back.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'csv-parse/sync';
import { auditCsv } from '../src/ledger/audit.js';
import { Ledger } from '../src/ledger/ledger.js';
import { planRows } from '../src/plan/replay.js';
import { validateBatch, type Plan } from '../src/plan/validate.js';
import { fieldsSignature } from '../src/plan/letter-key.js';
import { changedNote } from '../src/report/rows.js';
import { contentSha256 } from '../src/send/changed.js';
import { Decision, NOW_DIFFERS, decideRows, ledgerVerdict } from '../src/send/decide.js';
import { tempDir } from './support/cli.js';

const KEYS = 'cccccccccccccccccccccccccccccc01,aa11bb22cc33dd44ee55ff6677889900,3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';

/** A project: a template using {{today}} and a partial, and a CSV of two rows. */
function project(): { dir: string; csv: string; templatesDir: string } {
  const dir = tempDir('changed-letters-');
  const templatesDir = join(dir, 'templates');
  mkdirSync(join(templatesDir, 'partials'), { recursive: true });
  writeFileSync(join(templatesDir, 'note.hbs'), '<p>{{today}}</p><p>Dear {{patientName}},</p>{{> sign}}\n');
  writeFileSync(join(templatesDir, 'partials', 'sign.hbs'), '<p>Dr. V</p>\n');
  const csv = join(dir, 'in.csv');
  writeFileSync(csv, `patientKey,providerKey,practiceLocationKey,patientName,clinic\n${KEYS},Ann,North\n${KEYS.replace('c01', 'c02')},Bob,South\n`);
  return { dir, csv, templatesDir };
}

/** Record every ready row of the plan as sent, with or without its letter's hash and render date. */
async function recordSent(plan: Plan, file: string, withHash = true): Promise<void> {
  const ledger = Ledger.open(file, { runId: 'earlier' });
  for await (const { planned, letter } of planRows(plan)) {
    if (!letter) continue;
    const sha = contentSha256(letter.template.renderLetter(letter.data));
    const fieldsSha256 = fieldsSignature(letter.template.fields.all);
    await ledger.claim({ letterKey: planned.letterKey!, keys: planned.keys, template: 'note', sourceFile: plan.source.file, row: planned.row, ...(withHash && { fieldsSha256 }) });
    await ledger.finish(planned.letterKey!, { status: 'sent', httpStatus: 201, letterId: `L-${planned.row}`, attempts: 1, ...(withHash && { contentSha256: sha, renderDate: plan.templates.renderDate }) });
  }
  ledger.close();
}

async function decide(p: ReturnType<typeof project>, ledgerFile: string, resendChanged = false) {
  const plan = await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' });
  const ledger = Ledger.open(ledgerFile);
  try {
    return { plan, ...(await decideRows(plan, ledger, false, undefined, resendChanged)), ledger: ledger.lookup([plan.letterKeyOf(1)!]) };
  } finally {
    ledger.close();
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('changed letters', () => {
  it('a letter with {{today}}, compared on a later day with unchanged templates, is already sent and not changed', async () => {
    const p = project();
    const ledgerFile = join(p.dir, 'ledger.db');
    vi.useFakeTimers({ now: new Date(2026, 2, 10, 12), toFake: ['Date'] });
    await recordSent(await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' }), ledgerFile);
    vi.setSystemTime(new Date(2026, 4, 20, 12)); // two months later: {{today}} would give another date
    const { counts, changed, plan } = await decide(p, ledgerFile);
    expect(plan.templates.renderDate).toBe('2026-05-20');
    expect(counts[Decision.AlreadySent]).toBe(2);
    expect(counts[Decision.Changed]).toBe(0);
    expect(changed.size).toBe(0);
  });

  it('an edited partial makes every row that uses it changed, skipped with the note, or Resend with resendChanged', async () => {
    const p = project();
    const ledgerFile = join(p.dir, 'ledger.db');
    vi.useFakeTimers({ now: new Date(2026, 2, 10, 12), toFake: ['Date'] });
    await recordSent(await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' }), ledgerFile);
    vi.setSystemTime(new Date(2026, 2, 11, 12));
    writeFileSync(join(p.templatesDir, 'partials', 'sign.hbs'), '<p>Dr. V, MD</p>\n');
    const { counts, changed, decisions, plan, ledger } = await decide(p, ledgerFile);
    expect(counts[Decision.Changed]).toBe(2);
    expect(counts[Decision.AlreadySent]).toBe(0);
    expect(decisions[1]).toBe(Decision.Changed);
    const rec = ledger.get(plan.letterKeyOf(1)!)!;
    expect(changed.get(1)).toBe(rec.contentSha256);
    const planned = { row: 1, status: 'ready' as const, keys: { patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r' }, template: 'note', letterKey: rec.letterKey };
    expect(ledgerVerdict(planned, rec, false, changed.get(1))!.error).toMatch(new RegExp(`^already sent \\(ledger: .+ row 1, .+\\); ${NOW_DIFFERS}$`));
    const resend = await decide(p, ledgerFile, true);
    expect(resend.counts[Decision.Resend]).toBe(2);
  });

  it('a template edited to use one more merge field (so every letter key is new) makes the rows sent with the old fields changed, naming the earlier letter; Resend with resendChanged', async () => {
    const p = project();
    const ledgerFile = join(p.dir, 'ledger.db');
    await recordSent(await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' }), ledgerFile);
    writeFileSync(join(p.templatesDir, 'note.hbs'), '<p>{{today}}</p><p>Dear {{patientName}}, of {{clinic}}</p>{{> sign}}\n');
    const { counts, changed, earlier, decisions, plan, ledger } = await decide(p, ledgerFile);
    expect(ledger.size).toBe(0); // the new letter keys were never sent
    expect(counts[Decision.Changed]).toBe(2);
    expect(counts[Decision.Send]).toBe(0);
    expect(decisions[2]).toBe(Decision.Changed);
    expect(earlier.get(1)!.kind).toBe('differs');
    const was = earlier.get(1)!.record;
    expect(was).toMatchObject({ status: 'sent', letterId: 'L-1', row: 1 });
    expect(changed.get(1)).toBe(was.contentSha256);
    const planned = { row: 1, status: 'ready' as const, keys: { patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r' }, template: 'note', letterKey: plan.letterKeyOf(1)! };
    expect(ledgerVerdict(planned, undefined, false, changed.get(1), earlier.get(1))).toMatchObject({
      status: 'skipped',
      letterId: 'L-1',
      error: expect.stringMatching(new RegExp(`^already sent \\(ledger: .+ row 1, .+\\); ${NOW_DIFFERS} \\(its template's merge fields changed since, so its letter key is new\\)$`)),
    });
    // Its own new key recorded failed (a resend Canvas refused): still skipped with the note, never "the ledger changed".
    const failed = { ...was, letterKey: planned.letterKey, status: 'failed' as const };
    expect(ledgerVerdict(planned, failed, false, changed.get(1), earlier.get(1))).toMatchObject({ status: 'skipped', error: expect.stringContaining(NOW_DIFFERS) });
    expect((await decide(p, ledgerFile, true)).counts[Decision.Resend]).toBe(2);
  });

  it('after the resend, the rows sent under the new fields are skipped by their own keys; a row with new values for the same patient is still held: no earlier letter is ever freed', async () => {
    const p = project();
    const ledgerFile = join(p.dir, 'ledger.db');
    await recordSent(await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' }), ledgerFile);
    writeFileSync(join(p.templatesDir, 'note.hbs'), '<p>Dear {{patientName}}, of {{clinic}}</p>\n');
    await recordSent(await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' }), ledgerFile); // the resend of both rows
    expect((await decide(p, ledgerFile)).counts[Decision.AlreadySent]).toBe(2);
    writeFileSync(p.csv, readFileSync(p.csv, 'utf8').replace('North', 'East'));
    const { counts, earlier } = await decide(p, ledgerFile);
    expect([counts[Decision.Send], counts[Decision.AlreadySent], counts[Decision.Changed]]).toEqual([0, 1, 1]);
    expect(earlier.get(1)).toMatchObject({ kind: 'differs', record: { row: 1, letterId: 'L-1' } });
  });

  it('a row that renders the bytes of the earlier letter (an optional block it leaves empty) is that letter: skipped, not changed', async () => {
    const p = project();
    const ledgerFile = join(p.dir, 'ledger.db');
    await recordSent(await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' }), ledgerFile);
    writeFileSync(p.csv, readFileSync(p.csv, 'utf8').replace('patientName,clinic', 'patientName,clinic,parking').replace(/(North|South)\n/g, '$1,\n'));
    writeFileSync(join(p.templatesDir, 'note.hbs'), '<p>{{today}}</p><p>Dear {{patientName}},</p>{{#if parking}}<p>{{parking}}</p>{{/if}}{{> sign}}\n');
    const { counts, earlier, changed, ledger } = await decide(p, ledgerFile);
    expect(ledger.size).toBe(0); // new letter keys
    expect([counts[Decision.AlreadySent], counts[Decision.Changed], counts[Decision.Send], changed.size]).toEqual([2, 0, 0, 0]);
    expect(earlier.get(2)).toMatchObject({ kind: 'same', record: { row: 2, letterId: 'L-2' } });
    const planned = { row: 2, status: 'ready' as const, keys: { patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r' }, template: 'note', letterKey: 'k' };
    expect(ledgerVerdict(planned, undefined, false, undefined, earlier.get(2))!.error).toMatch(/^already sent \(ledger: .+ row 2, .+\); the letter is the same \(its template's merge fields changed since, so its letter key is new\)$/);
  });

  it('a letter of the old fields whose outcome is unknown holds its row too: never sent in its place without resendChanged', async () => {
    const p = project();
    const ledgerFile = join(p.dir, 'ledger.db');
    const plan = await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' });
    const ledger = Ledger.open(ledgerFile, { runId: 'earlier' });
    for await (const { planned, letter } of planRows(plan)) {
      if (!letter) continue;
      await ledger.claim({ letterKey: planned.letterKey!, keys: planned.keys, template: 'note', sourceFile: plan.source.file, row: planned.row, fieldsSha256: fieldsSignature(letter.template.fields.all) });
      await ledger.finish(planned.letterKey!, { status: 'unknown', httpStatus: 504, attempts: 1 });
    }
    ledger.close();
    writeFileSync(join(p.templatesDir, 'note.hbs'), '<p>Dear {{patientName}}, of {{clinic}}</p>\n');
    const { counts, earlier, plan: now } = await decide(p, ledgerFile);
    expect([counts[Decision.Changed], counts[Decision.Send]]).toEqual([2, 0]);
    const planned = { row: 1, status: 'ready' as const, keys: { patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r' }, template: 'note', letterKey: now.letterKeyOf(1)! };
    expect(ledgerVerdict(planned, undefined, false, undefined, earlier.get(1))!.error).toMatch(/^a letter of its template to these keys has an unknown outcome \(ledger: .+ row 1, .+\): check the chart and record it with canvas-letters ledger resolve, or send this row with --resend-changed$/);
  });

  it("a row whose values changed, its template's fields the same, is a new letter: sent", async () => {
    const p = project();
    const ledgerFile = join(p.dir, 'ledger.db');
    await recordSent(await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' }), ledgerFile);
    writeFileSync(p.csv, readFileSync(p.csv, 'utf8').replace('Ann', 'Anna'));
    const { counts, earlier } = await decide(p, ledgerFile);
    expect(counts[Decision.Send]).toBe(1);
    expect(counts[Decision.AlreadySent]).toBe(1);
    expect(earlier.size).toBe(0);
  });

  it('an old record without a hash is never changed, even after an edit', async () => {
    const p = project();
    const ledgerFile = join(p.dir, 'ledger.db');
    await recordSent(await validateBatch({ csv: p.csv, templatesDir: p.templatesDir, template: 'note' }), ledgerFile, false);
    writeFileSync(join(p.templatesDir, 'note.hbs'), '<p>Hello {{patientName}}</p>\n');
    const { counts, changed } = await decide(p, ledgerFile);
    expect(counts[Decision.AlreadySent]).toBe(2);
    expect(changed.size).toBe(0);
    // Nor does its letter key, made new by a field added, find it: a ledger of before schema 4 cannot tell.
    writeFileSync(join(p.templatesDir, 'note.hbs'), '<p>Hello {{patientName}} of {{clinic}}</p>\n');
    expect((await decide(p, ledgerFile)).counts[Decision.Send]).toBe(2);
  });
});

describe('the changed rows in the confirmation and the summary', () => {
  it('says how many were sent again and how many --limit left out', () => {
    expect(changedNote(3, undefined)).toBe('skipped; --resend-changed sends them again');
    expect(changedNote(3, 3)).toBe('sent again as new letters: --resend-changed');
    expect(changedNote(3, 1)).toBe('1 sent again as new letters (--resend-changed), 2 over --limit');
  });
});

describe('two runs on either side of a fields edit', () => {
  it('a claim is refused for a letter of the same template and keys another run claimed under other fields since this ledger opened', async () => {
    const file = join(tempDir('changed-rival-'), 'ledger.db');
    const keys = { patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r' };
    vi.useFakeTimers({ now: new Date('2026-12-04T10:00:00Z'), toFake: ['Date'] });
    const waiting = Ledger.open(file, { runId: 'x' }); // validated under fields A, waiting at its prompt
    vi.setSystemTime(new Date('2026-12-04T10:01:00Z'));
    const other = Ledger.open(file, { runId: 'y' }); // the template edited to fields B: this run sends
    await other.claim({ letterKey: 'kB', keys, template: 'note', sourceFile: '/in.csv', row: 1, fieldsSha256: 'b'.repeat(64) });
    await other.finish('kB', { status: 'sent', httpStatus: 201, attempts: 1 });
    const refused = await waiting.claim({ letterKey: 'kA', keys, template: 'note', sourceFile: '/in.csv', row: 1, fieldsSha256: 'a'.repeat(64) });
    expect(refused).toMatchObject({ claimed: false, existing: { letterKey: 'kB', status: 'sent', runId: 'y' } });
    // The same fields, other keys, or no signature: claimed as usual.
    expect(await waiting.claim({ letterKey: 'kA2', keys, template: 'note', sourceFile: '/in.csv', row: 2, fieldsSha256: 'b'.repeat(64) })).toEqual({ claimed: true });
    expect(await waiting.claim({ letterKey: 'kA3', keys: { ...keys, patientKey: 'p2' }, template: 'note', sourceFile: '/in.csv', row: 3, fieldsSha256: 'a'.repeat(64) })).toEqual({ claimed: true });
    // A ledger opened after that letter was recorded decides with it (the fields check), so it does not refuse.
    vi.setSystemTime(new Date('2026-12-04T10:02:00Z'));
    const later = Ledger.open(file, { runId: 'z' });
    expect(await later.claim({ letterKey: 'kA4', keys, template: 'note', sourceFile: '/in.csv', row: 4, fieldsSha256: 'a'.repeat(64) })).toEqual({ claimed: true });
    for (const l of [waiting, other, later]) l.close();
  });
});

describe('superseding a sent letter in the ledger', () => {
  const req = { letterKey: 'k1', keys: { patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r' }, template: 'note', sourceFile: '/in.csv', row: 1 };

  async function sentLedger(): Promise<Ledger> {
    const file = join(tempDir('changed-ledger-'), 'ledger.db');
    const l = Ledger.open(file, { runId: 'earlier' });
    await l.claim(req);
    await l.finish('k1', { status: 'sent', httpStatus: 201, letterId: 'L-1', attempts: 1, contentSha256: 'a'.repeat(64), renderDate: '2026-03-10' });
    l.close();
    return Ledger.open(file, { runId: 'resend' });
  }

  it('claims a sent key only with the recorded hash, records the new letter with its own hash and date, and the audit lists both letters', async () => {
    const l = await sentLedger();
    expect(await l.claim(req, { supersede: 'b'.repeat(64) })).toMatchObject({ claimed: false });
    expect(await l.claim(req, { supersede: 'a'.repeat(64) })).toEqual({ claimed: true });
    expect(l.get('k1')).toMatchObject({ status: 'pending', superseded: 1 });
    expect(l.get('k1')!.contentSha256).toBeUndefined();
    await l.finish('k1', { status: 'sent', httpStatus: 201, letterId: 'L-2', attempts: 1, contentSha256: 'c'.repeat(64), renderDate: '2026-03-11' });
    expect(l.get('k1')).toMatchObject({ status: 'sent', letterId: 'L-2', contentSha256: 'c'.repeat(64), renderDate: '2026-03-11', superseded: 1 });
    // The audit lists both letters: the earlier one as superseded, then the key's record.
    const audit = parse<Record<string, string>>(auditCsv(l).text, { columns: true });
    expect(audit.map((r) => [r.status, r.letterId, r.patientKey])).toEqual([['superseded', 'L-1', 'p'], ['sent', 'L-2', 'p']]);
    l.close();
  });

  it('a resend that failed gives the key its earlier sent record back, and the history says it was restored', async () => {
    const l = await sentLedger();
    const before = l.get('k1')!;
    await l.claim(req, { supersede: 'a'.repeat(64) });
    await l.finish('k1', { status: 'failed', httpStatus: 422, attempts: 1 });
    const after = l.get('k1')!;
    expect(after).toMatchObject({ status: 'sent', letterId: 'L-1', contentSha256: 'a'.repeat(64), renderDate: '2026-03-10', updatedAt: before.updatedAt });
    expect(after.superseded).toBeUndefined();
    expect(auditCsv(l).letters).toBe(1);
    l.close();
  });
});
