/**
 * The sealed preview (`batch.json`) and `approve`, in process: what preview seals, and every
 * refusal of approve (no batch, a changed or missing letter file, --exclude, twice, already sent,
 * --by), what the ledger says of its letters, then what an approval writes (approval.json, the re-rendered gallery).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { prepareApproval, writeApproval, type Approval, type Batch } from '../src/approve/index.js';
import { parseRowList } from '../src/approve/rows.js';
import { runApprove } from '../src/cli/approve.js';
import { formatTable } from '../src/cli/ledger.js';
import { UsageError } from '../src/errors.js';
import type { LedgerRecord, LedgerStatus } from '../src/ledger/ledger.js';
import { FileChangedError } from '../src/plan/replay.js';
import { preview } from '../src/preview/index.js';
import { tempDir, writeTree } from './support/cli.js';

const PROV = 'aa11bb22cc33dd44ee55ff6677889900';
const LOC = '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';
const key = (n: number) => `0f1e2d3c4b5a69788796a5b4c3d2e1${String(n).padStart(2, '0')}`;
const NAMES = ['Siobhan Quigley', 'Zoë Marchetti', 'Ignatius Pennywhistle', 'Ottoline Varga'];

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const mode = (p: string) => statSync(p).mode & 0o777;

/** A project: two templates (one with a partial and its own stylesheet), a CSV of four patients. */
function project(): { dir: string; csv: string; tpl: string } {
  const dir = tempDir('cl-approve-');
  writeTree(join(dir, 'tpl'), {
    'styles.css': '.name { font-weight: bold; }\n',
    'visit.css': 'p { margin: 0; }\n',
    'partials/footer.hbs': '<p>Seen by our clinic</p>',
    'visit.hbs': '<html><body><p>Dear <span class="name">{{name}}</span>, today is {{today "iso"}}.</p>{{> footer}}</body></html>\n',
    'excuse.hbs': '<html><body><p>{{name}} is excused on {{today "iso"}}.</p></body></html>\n',
  });
  const lines = ['patientKey,providerKey,practiceLocationKey,template,name,unused'];
  NAMES.forEach((name, i) => lines.push(`${key(i + 1)},${PROV},${LOC},${i === 3 ? 'excuse' : 'visit'},${name},x`));
  writeFileSync(join(dir, 'in.csv'), lines.join('\n') + '\n');
  return { dir, csv: join(dir, 'in.csv'), tpl: join(dir, 'tpl') };
}

async function previewed(extra: Partial<Parameters<typeof preview>[0]> = {}) {
  const p = project();
  const out = join(p.dir, 'out');
  const result = await preview({ csv: p.csv, templatesDir: p.tpl, out, provider: PROV, ...extra });
  return { ...p, out, result };
}

const readBatchJson = (out: string) => JSON.parse(readFileSync(join(out, 'batch.json'), 'utf8')) as Batch;
const searchData = (html: string) => html.match(/<script type="application\/json" id="search-data">([\s\S]*?)<\/script>/)![1]!;
const rowsData = (html: string) => JSON.parse(html.match(/<script type="application\/json" id="rows-data">([\s\S]*?)<\/script>/)![1]!) as { row: number; excluded?: true }[];

/** The UsageError message `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

afterEach(() => {
  vi.useRealTimers();
});

describe('batch.json', () => {
  it('seals every letter file by the sha256 of its bytes, with its row, letter key and template, 0600', async () => {
    const { out } = await previewed();
    const batch = readBatchJson(out);
    expect(mode(join(out, 'batch.json'))).toBe(0o600);
    expect(batch.version).toBe(1);
    expect(batch.rows.map((r) => [r.row, r.template, r.file])).toEqual([
      [1, 'visit', 'letters/row-00001.html'],
      [2, 'visit', 'letters/row-00002.html'],
      [3, 'visit', 'letters/row-00003.html'],
      [4, 'excuse', 'letters/row-00004.html'],
    ]);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { rows: { row: number; letterKey?: string }[] };
    for (const r of batch.rows) {
      expect(r.sha256).toBe(sha(readFileSync(join(out, r.file))));
      expect(r.letterKey).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(report.rows).toHaveLength(4);
  });

  it("records the CSV's path and the sha256 of its bytes, and each template's files with the sha256 of theirs", async () => {
    const { out, csv, tpl } = await previewed();
    const batch = readBatchJson(out);
    expect(batch.csv).toEqual({ path: csv, sha256: sha(readFileSync(csv)) });
    expect(batch.templatesDir).toBe(tpl);
    const files = (name: string) => batch.templates.find((t) => t.name === name)!.sources;
    expect(batch.templates.map((t) => t.name)).toEqual(['excuse', 'visit']);
    expect(files('visit')).toEqual(['visit.hbs', 'partials/footer.hbs', 'styles.css', 'visit.css'].map((path) => ({ path, sha256: sha(readFileSync(join(tpl, path))) })));
    expect(files('excuse').map((s) => s.path)).toEqual(['excuse.hbs', 'styles.css']);
    expect(batch.options).toEqual({ map: {}, provider: PROV, lookup: false });
  });

  it('holds no patient names, only what the report holds', async () => {
    const { out } = await previewed();
    const text = readFileSync(join(out, 'batch.json'), 'utf8');
    for (const name of NAMES) {
      expect(text).not.toContain(name);
      expect(text).not.toContain(name.split(' ')[1]!);
    }
    expect(readFileSync(join(out, 'letters/row-00001.html'), 'utf8')).toContain(NAMES[0]);
  });

  it('records the date {{today}} wrote into every letter, one date for the run even when the clock passes midnight', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(2026, 11, 31, 23, 59, 59, 900)); // local time
    const { out } = await previewed({ onRow: () => vi.setSystemTime(new Date(2027, 0, 1, 0, 0, 5)) });
    const batch = readBatchJson(out);
    expect(batch.renderDate).toBe('2026-12-31');
    for (const r of batch.rows) expect(readFileSync(join(out, r.file), 'utf8')).toContain('2026-12-31');
  });

  it('is written last, after index.html; --no-files and a refused preview write none', async () => {
    const { out } = await previewed();
    expect(statSync(join(out, 'batch.json')).mtimeMs).toBeGreaterThanOrEqual(statSync(join(out, 'index.html')).mtimeMs);
    const noFiles = await previewed({ files: false });
    expect(existsSync(join(noFiles.out, 'report.json'))).toBe(true);
    expect(existsSync(join(noFiles.out, 'batch.json'))).toBe(false);
    const p = project();
    writeFileSync(p.csv, readFileSync(p.csv, 'utf8').replace(NAMES[2]!, ''));
    const refused = await preview({ csv: p.csv, templatesDir: p.tpl, out: join(p.dir, 'out'), provider: PROV });
    expect(refused.summary.refused).toBe(true);
    expect(existsSync(join(p.dir, 'out', 'batch.json'))).toBe(false);
  });

  it('refuses a CSV edited between validation and rendering even where no letter shows it (same size and time): no batch.json', async () => {
    const p = project();
    const out = join(p.dir, 'out');
    const when = new Date('2026-12-01T08:00:00Z');
    utimesSync(p.csv, when, when);
    const edit = () => {
      writeFileSync(p.csv, readFileSync(p.csv, 'utf8').replace(/,x\n$/, ',y\n')); // a column no template uses
      utimesSync(p.csv, when, when);
    };
    await expect(preview({ csv: p.csv, templatesDir: p.tpl, out, provider: PROV, onValidated: edit })).rejects.toBeInstanceOf(FileChangedError);
    expect(existsSync(join(out, 'batch.json'))).toBe(false);
  });
});

describe('approve refuses', () => {
  it('a folder without batch.json, saying it is not a preview with letter files and how to make one', async () => {
    const { out } = await previewed({ files: false });
    const message = refusal(() => prepareApproval({ dir: out, by: 'Dr. Ada Smith' }));
    expect(message).toContain('is not a preview with letter files (no batch.json)');
    expect(message).toContain('canvas-letters preview');
  });

  it('a batch.json that does not parse, or of another version', async () => {
    const { out } = await previewed();
    const text = readFileSync(join(out, 'batch.json'), 'utf8');
    writeFileSync(join(out, 'batch.json'), text.slice(0, 40));
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada' }))).toContain('batch.json is not valid JSON');
    writeFileSync(join(out, 'batch.json'), text.replace('"version": 1', '"version": 2'));
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada' }))).toContain('version 2 is not 1');
  });

  it('a batch whose letter files changed, naming the rows; a missing file or a symlink counts, each named for what it is; nothing is written', async () => {
    const { out } = await previewed();
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    writeFileSync(join(out, 'letters/row-00002.html'), readFileSync(join(out, 'letters/row-00002.html'), 'utf8').replace('Dear', 'Dear dear'));
    unlinkSync(join(out, 'letters/row-00003.html'));
    const copy = join(out, '..', 'copy.html');
    writeFileSync(copy, readFileSync(join(out, 'letters/row-00004.html')));
    unlinkSync(join(out, 'letters/row-00004.html'));
    symlinkSync(copy, join(out, 'letters/row-00004.html')); // the same bytes, through a link: not the sealed file
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada' }))).toContain('since the preview, 1 row changed: row 2; 1 row missing: row 3; 1 row not a regular file (a symlink, a folder or a device): row 4 (the letter files are not the ones batch.json sealed); nothing was approved');
    expect(existsSync(join(out, 'approval.json'))).toBe(false);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toBe(index);
  });

  it('a file changed between the check and the writing (nothing written)', async () => {
    const { out } = await previewed();
    const pending = prepareApproval({ dir: out, by: 'Ada' });
    writeFileSync(join(out, 'letters/row-00001.html'), 'changed');
    expect(refusal(() => writeApproval(pending))).toContain('1 row changed: row 1');
    expect(existsSync(join(out, 'approval.json'))).toBe(false);
  });

  it('--exclude rows that are not in the batch, naming them, and malformed lists', async () => {
    const { out } = await previewed();
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada', exclude: '2,5-6' }))).toContain('--exclude: 2 rows not in the batch: rows 5, 6');
    for (const bad of ['', '2,', 'two', '0', '4-2', '1;2', '-3']) {
      expect(refusal(() => prepareApproval({ dir: out, by: 'Ada', exclude: bad }))).toContain('is not a row or a range of rows');
    }
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada', exclude: '1-4' }))).toContain('no letters left to approve');
  });

  it('an empty --by, or one with control characters (shown escaped)', async () => {
    const { out } = await previewed();
    expect(refusal(() => prepareApproval({ dir: out, by: '  ' }))).toContain('--by: expected the name of the person approving');
    const message = refusal(() => prepareApproval({ dir: out, by: 'Ada\x1b[31m\nrow 1: ok' }));
    expect(message).toContain('control characters are not allowed');
    expect(message).not.toContain('\x1b');
    expect(message).not.toContain('\n');
  });

  it('approving twice: who approved and when', async () => {
    const { out } = await previewed();
    const first = writeApproval(prepareApproval({ dir: out, by: 'Dr. Ada Smith' }), new Date('2026-12-03T09:15:00Z'));
    expect(first.approver).toBe('Dr. Ada Smith');
    const message = refusal(() => prepareApproval({ dir: out, by: 'Someone Else' }));
    expect(message).toContain('already approved by Dr. Ada Smith at 2026-12-03T09:15:00.000Z (approval.json)');
    expect(message).toContain('to approve again, remove approval.json after checking why');
  });

  it('a folder holding a send report: already sent', async () => {
    const { out } = await previewed();
    const report = readFileSync(join(out, 'report.json'), 'utf8');
    writeFileSync(join(out, 'report.json'), report.replace('"command": "preview"', '"command": "send"'));
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada' }))).toContain('holds the report of a `send` run: this batch was already sent');
    rmSync(join(out, 'batch.json'));
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada' }))).toContain('already sent');
  });
});

describe('approve and the ledger', () => {
  /** A ledger that records these letter keys sent. */
  const ledgerOf = (sent: readonly string[]) => ({
    lookup: (keys: readonly string[]) => new Map(keys.filter((k) => sent.includes(k)).map((k) => [k, { status: 'sent' } as LedgerRecord])),
  });

  it('counts the letters the ledger records sent, by row', async () => {
    const { out } = await previewed();
    const keys = readBatchJson(out).rows.map((r) => r.letterKey);
    expect(prepareApproval({ dir: out, by: 'Ada', ledger: ledgerOf([keys[1]!, keys[3]!]) }).alreadySent).toEqual([2, 4]);
    expect(prepareApproval({ dir: out, by: 'Ada', ledger: ledgerOf([]) }).alreadySent).toEqual([]);
    expect(prepareApproval({ dir: out, by: 'Ada' }).alreadySent).toEqual([]);
  });

  it('refuses a batch whose every letter to approve was already sent', async () => {
    const { out } = await previewed();
    const keys = readBatchJson(out).rows.map((r) => r.letterKey);
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada', ledger: ledgerOf(keys) }))).toContain('this batch was already sent: the ledger records all 4 letters to approve as sent; nothing was approved');
    expect(refusal(() => prepareApproval({ dir: out, by: 'Ada', exclude: '1-3', ledger: ledgerOf([keys[3]!]) }))).toContain('the ledger records the letter to approve as sent');
    expect(existsSync(join(out, 'approval.json'))).toBe(false);
  });
});

describe('approve writes', () => {
  it('approval.json (0600): id, approver, time, the sha256 of batch.json, approved and excluded rows, sealed', async () => {
    const { out } = await previewed();
    const pending = prepareApproval({ dir: out, by: ' Dr. Ada Smith ', exclude: '2,4' });
    expect(pending.approved).toEqual([1, 3]);
    expect(pending.templates).toEqual([{ name: 'visit', count: 2 }]);
    expect(pending.csv).toBe('in.csv');
    expect(pending.gallery).toBe(join(out, 'index.html'));
    const approval = writeApproval(pending, new Date('2026-12-03T09:15:00Z'));
    const written = JSON.parse(readFileSync(join(out, 'approval.json'), 'utf8')) as Approval;
    expect(written).toEqual(approval);
    expect(written).toEqual({
      version: 1,
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      approver: 'Dr. Ada Smith',
      approvedAt: '2026-12-03T09:15:00.000Z',
      batchSha256: sha(readFileSync(join(out, 'batch.json'))),
      approved: [1, 3],
      excluded: [2, 4],
      seal: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const { seal, ...fields } = written;
    expect(seal).toBe(sha(JSON.stringify([fields.version, fields.id, fields.approver, fields.approvedAt, fields.batchSha256, fields.approved, fields.excluded])));
    expect(mode(join(out, 'approval.json'))).toBe(0o600);
  });

  it('a gallery that shows the approval and marks the excluded rows, with the same search index, 0600', async () => {
    const { out } = await previewed();
    const before = readFileSync(join(out, 'index.html'), 'utf8');
    writeApproval(prepareApproval({ dir: out, by: 'Dr. <b>Ada</b>', exclude: '3' }), new Date('2026-12-03T09:15:00Z'));
    const after = readFileSync(join(out, 'index.html'), 'utf8');
    expect(after).toContain('Approved</strong> by <strong>Dr. &lt;b&gt;Ada&lt;/b&gt;</strong> on 2026-12-03 09:15 UTC: 3 letters; 1 excluded');
    expect(rowsData(after).filter((r) => r.excluded).map((r) => r.row)).toEqual([3]);
    expect(searchData(after)).toBe(searchData(before));
    expect(mode(join(out, 'index.html'))).toBe(0o600);
  });

  it("a search index without the templates' common words when the templates changed since the preview", async () => {
    const { out, tpl } = await previewed();
    writeFileSync(join(tpl, 'visit.hbs'), '<html><body><p>Other words {{name}} {{today}}</p></body></html>\n');
    writeApproval(prepareApproval({ dir: out, by: 'Ada' }));
    const index = JSON.parse(searchData(readFileSync(join(out, 'index.html'), 'utf8'))) as { common: Record<string, string>; rows: string[] };
    expect(index.common.visit).toBe('');
    expect(index.rows[0]).toContain('dear'); // the template's words are now in each letter's entry
    expect(index.common.excuse).not.toBe('');
  });
});

describe('an approved preview folder', () => {
  it('is never replaced by a later preview into the same --out', async () => {
    const { out, csv, tpl } = await previewed();
    writeApproval(prepareApproval({ dir: out, by: 'Ada' }));
    const approval = readFileSync(join(out, 'approval.json'), 'utf8');
    await expect(preview({ csv, templatesDir: tpl, out, provider: PROV })).rejects.toThrow(/holds an approved preview \(approval\.json\), the record of an approval; it is never replaced/);
    expect(readFileSync(join(out, 'approval.json'), 'utf8')).toBe(approval);
    expect(existsSync(join(out, 'batch.json'))).toBe(true);
  });
});

describe('row lists', () => {
  it('reads 7,12-15 as rows, each once, sorted', () => {
    expect(parseRowList('7,12-15', '--exclude')).toEqual([7, 12, 13, 14, 15]);
    expect(parseRowList(' 3 , 1,3, 2 - 2', '--exclude')).toEqual([1, 2, 3]);
  });
});

/** The control characters of `text` other than newlines. */
const controls = (text: string) => [...text].filter((c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f));

describe('approve refuses a batch.json whose fields are not what preview writes', () => {
  /** Write batch.json as preview wrote it, with `edit` applied, and return the refusal's message. */
  async function refusedWith(edit: (b: Record<string, unknown>) => void): Promise<string> {
    const { out } = await previewed();
    const batch = readBatchJson(out) as unknown as Record<string, unknown>;
    edit(batch);
    writeFileSync(join(out, 'batch.json'), JSON.stringify(batch));
    return refusal(() => prepareApproval({ dir: out, by: 'Ada' }));
  }

  it('a renderDate, csv, templatesDir, templates, options, warnings or createdAt that cannot be read, named, as a damaged batch', async () => {
    const cases: [string, (b: Record<string, unknown>) => void][] = [
      ['renderDate', (b) => (b.renderDate = '2026-02-30')],
      ['renderDate', (b) => (b.renderDate = '2026-12-3')],
      ['renderDate', (b) => delete b.renderDate],
      ['csv', (b) => (b.csv = null)],
      ['csv', (b) => (b.csv = { path: 7, sha256: 'f'.repeat(64) })],
      ['csv', (b) => (b.csv = { path: '/x.csv', sha256: 'not a sha' })],
      ['templatesDir', (b) => (b.templatesDir = ['tpl'])],
      ['templates', (b) => (b.templates = {})],
      ['templates', (b) => (b.templates = [{ name: 1, sources: [] }])],
      ['templates', (b) => (b.templates = [{ name: 'visit' }])],
      ['options', (b) => (b.options = null)],
      ['options', (b) => (b.options = { map: { name: 1 }, lookup: false })],
      ['options', (b) => (b.options = { map: {}, lookup: 'no' })],
      ['options', (b) => (b.options = { map: {}, lookup: false, provider: 3 })],
      ['warnings', (b) => (b.warnings = 'none')],
      ['warnings', (b) => (b.warnings = [1])],
      ['createdAt', (b) => (b.createdAt = 'yesterday')],
      ['createdAt', (b) => (b.createdAt = '2026-12-03T25:00:00.000Z')],
    ];
    for (const [field, edit] of cases) {
      const message = await refusedWith(edit);
      expect(message, field).toContain(`batch.json: its ${field} cannot be read: it was damaged: preview again into a new folder`);
    }
  });

  it('a row whose Canvas keys are malformed (a path, control characters), naming the rows, shown escaped', async () => {
    const message = await refusedWith((b) => {
      const rows = b.rows as Batch['rows'];
      rows[1]!.keys!.patientKey = '../../etc';
      rows[3]!.keys!.providerKey = 'ab\x1b[31m';
    });
    expect(message).toContain('batch.json: 2 rows with a malformed Canvas key (letters, digits and - only, at most 64 characters): rows 2, 4: it was damaged: preview again into a new folder');
    expect(message).not.toContain('\x1b');
  });
});

describe('batch.json records when the preview started', () => {
  it('createdAt: the ISO time the preview run started (its report\'s startedAt); a batch.json without it still opens', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-02T16:45:00.250Z'));
    const { out } = await previewed();
    const batch = readBatchJson(out);
    expect(batch.createdAt).toBe('2026-12-02T16:45:00.250Z');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { summary: { startedAt: string } };
    expect(batch.createdAt).toBe(report.summary.startedAt);
    const older: Partial<Batch> = { ...batch };
    delete older.createdAt;
    writeFileSync(join(out, 'batch.json'), JSON.stringify(older, null, 2));
    expect(prepareApproval({ dir: out, by: 'Ada' }).batch.createdAt).toBeUndefined();
  });
});

describe('approve and letters the ledger records of unknown outcome', () => {
  /** A ledger that records each given letter key in the given status. */
  const ledgerWith = (statuses: ReadonlyMap<string, LedgerStatus>) => ({
    lookup: (keys: readonly string[]) => new Map(keys.filter((k) => statuses.has(k)).map((k) => [k, { status: statuses.get(k)! } as LedgerRecord])),
  });

  it('counts the letters recorded unknown or pending apart from those sent; only sent ones make the batch already sent', async () => {
    const { out } = await previewed();
    const keys = readBatchJson(out).rows.map((r) => r.letterKey);
    const mixed = new Map<string, LedgerStatus>([[keys[0]!, 'sent'], [keys[1]!, 'unknown'], [keys[2]!, 'failed'], [keys[3]!, 'pending']]);
    const pending = prepareApproval({ dir: out, by: 'Ada', ledger: ledgerWith(mixed) });
    expect([pending.alreadySent, pending.unknown]).toEqual([[1], [2, 4]]);
    const noneSent = new Map<string, LedgerStatus>(keys.map((k) => [k, 'unknown']));
    expect(prepareApproval({ dir: out, by: 'Ada', ledger: ledgerWith(noneSent) })).toMatchObject({ alreadySent: [], unknown: [1, 2, 3, 4] });
    const sentOrUnknown = new Map(keys.map((k, i) => [k, (i === 2 ? 'pending' : 'sent') as LedgerStatus]));
    expect(prepareApproval({ dir: out, by: 'Ada', ledger: ledgerWith(sentOrUnknown) })).toMatchObject({ alreadySent: [1, 2, 4], unknown: [3] });
    expect(prepareApproval({ dir: out, by: 'Ada' }).unknown).toEqual([]);
  });
});

describe('approve refuses a batch.json or approval.json that is a symlink', () => {
  it('saying to preview again into a new folder (not to give the real file\'s path: the name is fixed)', async () => {
    const { dir, out } = await previewed();
    const copy = join(dir, 'batch-copy.json');
    renameSync(join(out, 'batch.json'), copy);
    symlinkSync(copy, join(out, 'batch.json'));
    let message = refusal(() => prepareApproval({ dir: out, by: 'Ada' }));
    expect(message).toContain('batch.json is a symbolic link: canvas-letters reads only the regular file it wrote there, never through a symbolic link: preview again into a new folder');
    expect(message).not.toContain('real file');
    unlinkSync(join(out, 'batch.json'));
    renameSync(copy, join(out, 'batch.json'));
    writeApproval(prepareApproval({ dir: out, by: 'Ada' }));
    renameSync(join(out, 'approval.json'), join(dir, 'approval-copy.json'));
    symlinkSync(join(dir, 'approval-copy.json'), join(out, 'approval.json'));
    message = refusal(() => prepareApproval({ dir: out, by: 'Ada' }));
    expect(message).toContain('approval.json is a symbolic link: canvas-letters reads only the regular file it wrote there, never through a symbolic link: preview again into a new folder');
    expect(message).not.toContain('real file');
  });
});

describe('approve shows the values of batch.json escaped', () => {
  it('the CSV name, template names and render date reach the terminal with control characters escaped', async () => {
    const { dir, out } = await previewed();
    const batch = readBatchJson(out);
    batch.csv.path = join(dirname(batch.csv.path), 'in\nrow 1: approved\x1b[2J.csv');
    for (const r of batch.rows) r.template = 'visit\x1b]0;owned\x07';
    writeFileSync(join(out, 'batch.json'), JSON.stringify(batch, null, 2));
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await runApprove(out, { by: 'Ada', yes: true, ledger: join(dir, 'nowhere.db') })).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = written.join('');
    expect(text).toContain('from in\\nrow 1: approved\\x1b[2J.csv, rendered on ' + batch.renderDate);
    expect(text).toContain('templates: visit\\x1b]0;owned\\x07 (4)');
    expect(controls(text)).toEqual([]);
    expect(text.split('\n').filter((l) => l.startsWith('row 1'))).toEqual([]);
  });
});

describe('ledger list shows the keys escaped', () => {
  it('patientKey, providerKey, practiceLocationKey and letterKey from an edited ledger are printed with control characters escaped', () => {
    const record: LedgerRecord = {
      letterKey: 'k\x1b[2J', status: 'sent', patientKey: 'p\n1  sent', providerKey: 'prov\x07', practiceLocationKey: 'loc\u202e', template: 'visit',
      attempts: 1, sourceFile: '/data/in.csv', row: 1, runId: 'r', pid: 1, createdAt: '2026-12-03T10:00:00.000Z', updatedAt: '2026-12-03T10:00:00.000Z',
    };
    const table = formatTable([record]);
    expect(table).toContain('p\\n1  sent');
    expect(table).toContain('prov\\x07');
    expect(table).toContain('loc\\u202e');
    expect(table).toContain('k\\x1b[2J');
    expect(table.trimEnd().split('\n')).toHaveLength(2);
    expect(controls(table)).toEqual([]);
    expect(table).not.toContain('\u202e');
  });
});
