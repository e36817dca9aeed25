/**
 * `sendApproved` (send --approved) in process, against the sandbox: every check comes before
 * anything is sent or a ledger is made (a changed letter file, batch.json edited, approval.json
 * missing or edited, a report that disagrees), rows not approved are `not_attempted` "not
 * approved", letters go out as the files' bytes with the approval's header, the ledger records
 * the approval, and the ledger's rules hold between a plain send and an approved one.
 */
import { existsSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { approvalSeal, prepareApproval, writeApproval, type Approval } from '../src/approve/index.js';
import { loadConfig } from '../src/canvas/index.js';
import { UsageError } from '../src/errors.js';
import { Ledger } from '../src/ledger/ledger.js';
import { preview } from '../src/preview/index.js';
import { OLDER_THAN_SENT } from '../src/send/decide.js';
import { send, sendApproved, type ApprovedSendOptions } from '../src/send/index.js';
import type { ReportRow } from '../src/types.js';
import { useSandbox } from './support/sandbox.js';
import { tempDir, writeTree } from './support/cli.js';

const box = useSandbox();
const PROV = 'aa11bb22cc33dd44ee55ff6677889900';
const LOC = '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';
const key = (n: number) => `0f1e2d3c4b5a69788796a5b4c3d2e1${String(n).padStart(2, '0')}`;

let dir: string;
beforeEach(() => {
  dir = tempDir('cl-send-approved-');
  writeTree(dir, {
    'tpl/visit.hbs': '<html><body><p>Dear {{name}}, this letter is dated {{today "iso"}}.</p></body></html>\n',
    // Row 3 has no patient key: invalid, so not previewed (with skipInvalid).
    'in.csv': ['patientKey,providerKey,practiceLocationKey,name', `${key(1)},${PROV},${LOC},Ada`, `${key(2)},${PROV},${LOC},Bea`, `,${PROV},${LOC},Cy`, `${key(4)},${PROV},${LOC},Di`].join('\n') + '\n',
  });
});

const ledgerFile = () => join(dir, 'ledger.db');
const config = () => loadConfig({ env: box.env(), cwd: dir });

/** Preview into `<dir>/review` and approve it, leaving `exclude` out. */
async function approved(exclude?: string): Promise<Approval> {
  await preview({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 'tpl'), template: 'visit', out: join(dir, 'review'), skipInvalid: true });
  return writeApproval(prepareApproval({ dir: join(dir, 'review'), by: 'Dr. Ada Smith', ...(exclude !== undefined && { exclude }) }));
}

function options(more: Partial<ApprovedSendOptions> = {}): ApprovedSendOptions {
  return { approved: join(dir, 'review'), out: join(dir, `sent-${Math.random()}`), ledgerFile: ledgerFile(), config, retryBaseDelayMs: 1, ...more };
}

/** The UsageError message of a refused approved send; nothing was sent and no ledger was made. */
async function refused(more: Partial<ApprovedSendOptions> = {}): Promise<string> {
  const err = (await sendApproved(options(more)).then(
    () => undefined,
    (e: unknown) => e,
  )) as Error | undefined;
  expect(err).toBeInstanceOf(UsageError);
  expect((err as UsageError).exitCode).toBe(2);
  expect(box.sandbox.letters).toHaveLength(0);
  expect(box.sandbox.stats().letterRequests).toBe(0);
  expect(existsSync(ledgerFile())).toBe(false);
  return err!.message;
}

const reportRows = (out: string) => (JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { rows: ReportRow[] }).rows;
const review = (...p: string[]) => join(dir, 'review', ...p);

describe('send --approved refuses before anything is sent', () => {
  it('a letter file changed since the preview, naming the rows', async () => {
    await approved();
    writeFileSync(review('letters', 'row-00002.html'), readFileSync(review('letters', 'row-00002.html'), 'utf8').replace('Dear', 'Dearest'));
    rmSync(review('letters', 'row-00004.html'));
    expect(await refused()).toContain('since the preview, 1 row changed: row 2; 1 row missing: row 4');
  });

  it('batch.json edited after the approval', async () => {
    await approved();
    writeFileSync(review('batch.json'), readFileSync(review('batch.json'), 'utf8') + ' ');
    expect(await refused()).toContain('batch.json changed since it was approved');
  });

  it('a preview not approved yet, saying how to approve it', async () => {
    await approved();
    rmSync(review('approval.json'));
    expect(await refused()).toMatch(/not approved yet .*run canvas-letters approve .*review --by <name>/);
  });

  it('approval.json edited: another approver, batch sha256 or rows, or not readable', async () => {
    await approved('2');
    const text = readFileSync(review('approval.json'), 'utf8');
    const approval = JSON.parse(text) as Approval;
    for (const edit of [{ approver: 'Someone Else' }, { batchSha256: 'f'.repeat(64) }, { approved: [1, 2, 4], excluded: [] }, { seal: 'f'.repeat(64) }]) {
      writeFileSync(review('approval.json'), JSON.stringify({ ...approval, ...edit }));
      expect(await refused()).toContain('approval.json was edited after the approval (its fields no longer match its seal)');
    }
    writeFileSync(review('approval.json'), text.slice(0, 20));
    expect(await refused()).toContain('approval.json cannot be read');
  });

  it("an approval sealed again by hand whose rows are not the batch's", async () => {
    await approved('2');
    const approval = JSON.parse(readFileSync(review('approval.json'), 'utf8')) as Approval;
    const resealed = (rows: Pick<Approval, 'approved' | 'excluded'>) => {
      const fields = { ...approval, ...rows };
      writeFileSync(review('approval.json'), JSON.stringify({ ...fields, seal: approvalSeal(fields) }));
    };
    resealed({ approved: [1, 99], excluded: [2, 4] });
    expect(await refused()).toContain('approval.json approves 1 row not in the batch: row 99');
    resealed({ approved: [1, 2], excluded: [2] });
    expect(await refused()).toContain("approval.json does not cover batch.json's rows (1 row listed twice: row 2; 1 row neither approved nor excluded: row 4)");
    resealed({ approved: [1, 4], excluded: [2, 7] });
    expect(await refused()).toContain('1 row excluded but not in the batch: row 7');
  });

  it("a report whose keys disagree with the batch's", async () => {
    await approved();
    const report = JSON.parse(readFileSync(review('report.json'), 'utf8')) as { rows: ReportRow[] };
    report.rows[0]!.patientKey = key(9);
    writeFileSync(review('report.json'), JSON.stringify(report));
    expect(await refused()).toContain('report.json does not agree with batch.json (keys, template or letter file): 1 row not matching: row 1');
  });
});

describe('send --approved', () => {
  it('sends the approved files byte for byte with the approval header; rows excluded or not previewed are not attempted, "not approved"', async () => {
    const approval = await approved('2');
    const out = join(dir, 'sent');
    const result = await sendApproved(options({ out }));
    expect(result.summary).toMatchObject({ command: 'send', csv: join(dir, 'in.csv'), counts: { sent: 2, not_attempted: 2 }, exitCode: 1 });
    expect(result.summary.approval).toEqual({ id: approval.id, approver: 'Dr. Ada Smith', dir: review() });
    expect(result.preflight).toMatchObject({ rows: 4, toSend: 2, notApproved: 2 });
    const rows = reportRows(out);
    expect(rows.map((r) => [r.row, r.status, r.error])).toEqual([
      [1, 'sent', undefined],
      [2, 'not_attempted', 'not approved'],
      [3, 'not_attempted', 'not approved'],
      [4, 'sent', undefined],
    ]);
    const letters = box.sandbox.letters;
    expect(letters.map((l) => [l.patientKey, l.providerKey, l.practiceLocationKey])).toEqual([key(1), key(4)].map((k) => [k, PROV, LOC]));
    expect(letters.map((l) => l.content)).toEqual(['row-00001.html', 'row-00004.html'].map((f) => readFileSync(review('letters', f), 'utf8')));
    expect(letters.map((l) => l.approvalId)).toEqual([approval.id, approval.id]);
    const ledger = Ledger.open(ledgerFile(), { create: false });
    try {
      expect(ledger.records().map((r) => [r.row, r.status, r.approvalId, r.approver])).toEqual([
        [1, 'sent', approval.id, 'Dr. Ada Smith'],
        [4, 'sent', approval.id, 'Dr. Ada Smith'],
      ]);
    } finally {
      ledger.close();
    }
  });

  it('skips letters a plain send sent before (the same letter keys)', async () => {
    await approved();
    const plain = await send({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 'tpl'), template: 'visit', skipInvalid: true, out: join(dir, 'plain'), ledgerFile: ledgerFile(), config, retryBaseDelayMs: 1 });
    expect(plain.summary.counts.sent).toBe(3);
    const result = await sendApproved(options());
    expect(result.summary.counts).toMatchObject({ sent: 0, skipped: 3, not_attempted: 1 });
    expect(box.sandbox.letters).toHaveLength(3);
  });

  it('notes a CSV edited since the preview, and still sends the approved letters', async () => {
    await approved();
    writeFileSync(join(dir, 'in.csv'), readFileSync(join(dir, 'in.csv'), 'utf8').replace('Ada', 'Adele'));
    const notes: string[] = [];
    const result = await sendApproved(options({ onChecked: (w) => notes.push(...w) }));
    expect(notes).toEqual([expect.stringContaining('in.csv changed since the preview: the approved letter files are sent as they were approved')]);
    expect(result.summary.counts.sent).toBe(3);
    expect(result.summary.warnings).toEqual(notes);
    expect((JSON.parse(readFileSync(join(result.summary.out, 'report.json'), 'utf8')) as { summary: { warnings: string[] } }).summary.warnings).toEqual(notes);
    expect(box.sandbox.letters[0]!.content).toContain('Dear Ada,');
  });

  it('--limit sends at most that many approved letters; the rest are not attempted, and a later run sends them', async () => {
    await approved();
    const first = await sendApproved(options({ limit: 1 }));
    expect(first.preflight).toMatchObject({ toSend: 1, overLimit: 2, notApproved: 1 });
    expect(first.summary.counts).toMatchObject({ sent: 1, not_attempted: 3 });
    const second = await sendApproved(options());
    expect(second.summary.counts).toMatchObject({ sent: 2, skipped: 1, not_attempted: 1 });
    expect(box.sandbox.letters.map((l) => l.patientKey)).toEqual([key(1), key(2), key(4)]);
  });
});

describe('send --approved, letters a plain send sent before', () => {
  const TEMPLATE = 'tpl/visit.hbs';
  const plainSend = (renderDate?: string) =>
    send({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 'tpl'), template: 'visit', skipInvalid: true, out: join(dir, `plain-${Math.random()}`), ledgerFile: ledgerFile(), config, retryBaseDelayMs: 1, ...(renderDate && { renderDate }) });
  const editTemplate = () => writeFileSync(join(dir, TEMPLATE), readFileSync(join(dir, TEMPLATE), 'utf8').replace('this letter', 'this corrected letter'));
  const errors = (out: string) => reportRows(out).map((r) => [r.row, r.status, r.error?.replace(/\(ledger: [^)]*\)/, '(ledger: …)')]);
  const DIFFERS = 'already sent (ledger: …); the letter now differs from the one sent';

  it('are skipped with the "differs" note when the approved letter is not the one sent, and counted', async () => {
    expect((await plainSend()).summary.counts.sent).toBe(3);
    editTemplate();
    await approved();
    const out = join(dir, 'approved');
    const result = await sendApproved(options({ out }));
    expect(result.preflight).toMatchObject({ toSend: 0, changed: 3, alreadySent: 0, resent: 0 });
    expect(result.summary).toMatchObject({ changed: 3, counts: { sent: 0, skipped: 3, not_attempted: 1 } });
    expect(errors(out)).toEqual([
      [1, 'skipped', DIFFERS],
      [2, 'skipped', DIFFERS],
      [3, 'not_attempted', 'not approved'],
      [4, 'skipped', DIFFERS],
    ]);
    expect(box.sandbox.letters).toHaveLength(3);
  });

  it('with resendChanged sends the approved letters as new ones once, then never again', async () => {
    await plainSend();
    editTemplate();
    const approval = await approved();
    const first = await sendApproved(options({ resendChanged: true }));
    expect(first.preflight).toMatchObject({ toSend: 3, changed: 3, resent: 3 });
    expect(first.summary.counts).toMatchObject({ sent: 3, not_attempted: 1 });
    const resent = box.sandbox.letters.slice(3);
    expect(resent.map((l) => l.content)).toEqual(['row-00001.html', 'row-00002.html', 'row-00004.html'].map((f) => readFileSync(review('letters', f), 'utf8')));
    expect(resent.map((l) => l.approvalId)).toEqual([approval.id, approval.id, approval.id]);
    const again = await sendApproved(options({ resendChanged: true }));
    expect(again.preflight).toMatchObject({ toSend: 0, changed: 0, alreadySent: 3 });
    expect(box.sandbox.letters).toHaveLength(6);
  });

  it('are found by template and keys when the template was edited to use other merge fields (new letter keys): skipped as differing, sent again only with resendChanged', async () => {
    await plainSend();
    writeFileSync(join(dir, TEMPLATE), '<html><body><p>Dear patient, this letter is dated {{today "iso"}}.</p></body></html>\n');
    await approved();
    const out = join(dir, 'approved');
    const result = await sendApproved(options({ out }));
    expect(result.preflight).toMatchObject({ toSend: 0, changed: 3 });
    const note = `${DIFFERS} (its template's merge fields changed since, so its letter key is new)`;
    expect(errors(out).map(([, status, error]) => [status, error])).toEqual([['skipped', note], ['skipped', note], ['not_attempted', 'not approved'], ['skipped', note]]);
    const again = await sendApproved(options({ resendChanged: true }));
    expect(again.summary.counts).toMatchObject({ sent: 3 });
    expect(box.sandbox.letters.slice(3).map((l) => l.content)).toEqual(['row-00001.html', 'row-00002.html', 'row-00004.html'].map((f) => readFileSync(review('letters', f), 'utf8')));
    expect((await sendApproved(options({ resendChanged: true }))).preflight).toMatchObject({ toSend: 0, changed: 0, alreadySent: 3 });
  });

  it('a letter sent after the preview (a corrected resend) is never replaced by the older approved file, even with resendChanged', async () => {
    await approved();
    await plainSend();
    editTemplate();
    const corrected = await send({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 'tpl'), template: 'visit', skipInvalid: true, out: join(dir, 'corrected'), ledgerFile: ledgerFile(), config, retryBaseDelayMs: 1, resendChanged: true });
    expect(corrected.summary.counts.sent).toBe(3);
    const out = join(dir, 'approved');
    const result = await sendApproved(options({ out, resendChanged: true }));
    expect(result.preflight).toMatchObject({ toSend: 0, changed: 0, alreadySent: 3 });
    expect(errors(out).filter(([, status]) => status === 'skipped').map(([, , error]) => error)).toEqual(Array(3).fill(`already sent (ledger: …); ${OLDER_THAN_SENT}`));
    expect(box.sandbox.letters).toHaveLength(6);
  });

  it('sent on an earlier day, before an optional block was added: the CSV row rendered at that day gives the letter sent, so it is that letter (never sent again, even with resendChanged)', async () => {
    await plainSend('2026-01-05');
    writeFileSync(join(dir, TEMPLATE), readFileSync(join(dir, TEMPLATE), 'utf8').replace('</p>', '</p>{{#if clinic}}<p>{{clinic}}</p>{{/if}}'));
    await approved();
    const out = join(dir, 'approved');
    const result = await sendApproved(options({ out, resendChanged: true }));
    expect(result.preflight).toMatchObject({ toSend: 0, changed: 0, alreadySent: 3 });
    const same = "already sent (ledger: …); the letter is the same (its template's merge fields changed since, so its letter key is new)";
    expect(errors(out).filter(([, status]) => status === 'skipped').map(([, , error]) => error)).toEqual([same, same, same]);
    expect(box.sandbox.letters).toHaveLength(3);
    // Nothing is recorded for the approved keys: each run tells the same letter again.
    expect((await sendApproved(options({ resendChanged: true }))).preflight).toMatchObject({ toSend: 0, alreadySent: 3, changed: 0 });
  });

  it('on an earlier day with the same templates: the date alone is no difference', async () => {
    await plainSend('2026-01-05');
    await approved();
    const out = join(dir, 'approved');
    const result = await sendApproved(options({ out, resendChanged: true }));
    expect(result.preflight).toMatchObject({ toSend: 0, changed: 0, alreadySent: 3 });
    expect(errors(out).filter(([, status]) => status === 'skipped').map(([, , error]) => error)).toEqual(Array(3).fill('already sent (ledger: …)'));
  });

  it('on an earlier day with a template edited since: the rendering at that day differs', async () => {
    await plainSend('2026-01-05');
    editTemplate();
    await approved();
    const result = await sendApproved(options());
    expect(result.preflight).toMatchObject({ toSend: 0, changed: 3 });
  });

  it("on an earlier day, the CSV edited since the preview: a letter whose key is still in the CSV is rendered again at that day; one whose key is gone is compared byte for byte", async () => {
    await plainSend('2026-01-05');
    await approved();
    writeFileSync(join(dir, 'in.csv'), readFileSync(join(dir, 'in.csv'), 'utf8').replace('Bea', 'Beatrix') + `${key(5)},${PROV},${LOC},Eve\n`);
    const out = join(dir, 'approved');
    const result = await sendApproved(options({ out }));
    expect(result.preflight).toMatchObject({ toSend: 0, changed: 1, alreadySent: 2 });
    expect(errors(out).map(([row, , error]) => [row, error])).toEqual([
      [1, 'already sent (ledger: …)'],
      [2, DIFFERS],
      [3, 'not approved'],
      [4, 'already sent (ledger: …)'],
    ]);
    expect(box.sandbox.letters).toHaveLength(3);
  });

  it('on an earlier day, the templates edited since the preview: the bytes are compared', async () => {
    await plainSend('2026-01-05');
    await approved();
    writeFileSync(join(dir, 'tpl', 'visit.css'), 'p { margin: 0; }\n');
    const result = await sendApproved(options());
    expect(result.preflight).toMatchObject({ toSend: 0, changed: 3 });
  });
});

describe('send --approved refuses an approval.json whose approver or time is not what approve writes', () => {
  it('an approver with control characters, empty, padded or over 200 characters, or an approvedAt that is not an ISO time, even sealed again', async () => {
    await approved('2');
    const approval = JSON.parse(readFileSync(review('approval.json'), 'utf8')) as Approval;
    const edits: Partial<Approval>[] = [
      { approver: 'Dr. Ada\x1b[31m Smith' },
      { approver: 'Ada\nsent by: Bob' },
      { approver: '' },
      { approver: ' Dr. Ada Smith' },
      { approver: 'A'.repeat(201) },
      { approvedAt: 'yesterday' },
      { approvedAt: '2026-13-01T09:15:00.000Z' },
      { approvedAt: '2026-12-03' },
    ];
    for (const edit of edits) {
      const fields = { ...approval, ...edit };
      writeFileSync(review('approval.json'), JSON.stringify({ ...fields, seal: approvalSeal(fields) }));
      const message = await refused();
      expect(message, JSON.stringify(edit)).toContain('approval.json cannot be read (damaged or edited); nothing was sent');
      expect([...message].filter((c) => c.charCodeAt(0) < 0x20)).toEqual([]);
    }
  });
});

describe('send --approved sends only with well-formed Canvas keys', () => {
  it('refuses a batch.json row whose keys are malformed, naming the row; nothing is sent', async () => {
    await approved();
    const batch = JSON.parse(readFileSync(review('batch.json'), 'utf8')) as { rows: { keys: Record<string, string> }[] };
    batch.rows[1]!.keys.practiceLocationKey = '../../etc';
    writeFileSync(review('batch.json'), JSON.stringify(batch));
    expect(await refused()).toContain('batch.json: 1 row with a malformed Canvas key (letters, digits and - only, at most 64 characters): row 2');
  });

  it('refuses an older batch (no keys) whose report.json gives malformed keys, naming the rows; nothing is sent', async () => {
    await preview({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 'tpl'), template: 'visit', out: review(), skipInvalid: true });
    const batch = JSON.parse(readFileSync(review('batch.json'), 'utf8')) as { rows: { keys?: unknown }[] };
    for (const r of batch.rows) delete r.keys;
    writeFileSync(review('batch.json'), JSON.stringify(batch));
    const report = JSON.parse(readFileSync(review('report.json'), 'utf8')) as { rows: ReportRow[] };
    report.rows[0]!.patientKey = '../../etc/passwd';
    report.rows[3]!.providerKey = 'prov\x1b[31m';
    writeFileSync(review('report.json'), JSON.stringify(report));
    writeApproval(prepareApproval({ dir: review(), by: 'Dr. Ada Smith' }));
    const message = await refused();
    expect(message).toContain('report.json, whose Canvas keys a batch.json without keys is sent with, has 2 rows with a malformed Canvas key (letters, digits and - only, at most 64 characters): rows 1, 4; nothing was sent');
    expect(message).not.toContain('\x1b');
  });
});

describe('send --approved refuses a batch.json or approval.json that is a symlink', () => {
  it('saying to preview again into a new folder, not to give the real file\'s path', async () => {
    await approved();
    for (const name of ['approval.json', 'batch.json']) {
      const copy = join(dir, `copy-${name}`);
      renameSync(review(name), copy);
      symlinkSync(copy, review(name));
      const message = await refused();
      expect(message).toContain(`${name} is a symbolic link: canvas-letters reads only the regular file it wrote there, never through a symbolic link: preview again into a new folder`);
      expect(message).not.toContain('real file');
      rmSync(review(name));
      renameSync(copy, review(name));
    }
  });
});
