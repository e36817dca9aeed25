/**
 * The ledger under damage: a damaged, emptied or foreign file is refused at open (LedgerError,
 * naming the file once, saying to restore it), never taken for a new ledger; SQLite errors of
 * later operations arrive as LedgerError too; a ledger belongs to one Canvas instance.
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Ledger, LedgerError, LedgerOriginError, ledgerError, type ClaimRequest } from '../src/ledger/ledger.js';
import { tempDir } from './support/cli.js';

const KEYS = { patientKey: 'pat-1', providerKey: 'prov-1', practiceLocationKey: 'loc-1' };
const req = (letterKey: string, row = 1): ClaimRequest => ({ letterKey, keys: KEYS, template: 'visit', sourceFile: 'in.csv', row });
const key = (i: number) => i.toString(16).padStart(64, '0');

function ledgerFile(): string {
  return join(tempDir('ledger-damage-'), 'ledger.db');
}

/** A closed ledger holding n sent letters (its -wal checkpointed away on close). */
async function ledgerWith(n: number): Promise<string> {
  const file = ledgerFile();
  const l = Ledger.open(file);
  await Promise.all(Array.from({ length: n }, (_, i) => l.claim(req(key(i), i + 1))));
  await Promise.all(Array.from({ length: n }, (_, i) => l.finish(key(i), { status: 'sent', httpStatus: 201, attempts: 1 })));
  l.close();
  expect(existsSync(`${file}-wal`)).toBe(false);
  return file;
}

function openError(file: string, opts: Parameters<typeof Ledger.open>[1] = {}): LedgerError {
  try {
    Ledger.open(file, opts).close();
  } catch (e) {
    expect(e).toBeInstanceOf(LedgerError);
    return e as LedgerError;
  }
  throw new Error('the ledger was opened');
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('a damaged ledger is refused at open', () => {
  it('refuses a ledger truncated inside its last page, and names the file once', async () => {
    const file = await ledgerWith(3000);
    const size = statSync(file).size;
    expect(size / 4096).toBeGreaterThan(10); // several pages
    truncateSync(file, size - 1000);
    const err = openError(file);
    expect(err.message).toMatch(/is damaged: the integrity check found/);
    expect(err.message).toMatch(/restore it from a backup/);
    expect(occurrences(err.message, file)).toBe(1);
    expect(err.message).not.toMatch(/^ledger:/);
    expect(statSync(file).size).toBe(size - 1000); // nothing written to it
  });

  it('refuses a ledger truncated to 0 bytes instead of taking it for a new one, and leaves it empty', async () => {
    const file = await ledgerWith(10);
    truncateSync(file, 0);
    const err = openError(file, { busyTimeoutMs: 50 });
    expect(err.message).toMatch(/exists but is empty \(0 bytes\): it is not a new ledger/);
    expect(occurrences(err.message, file)).toBe(1);
    expect(statSync(file).size).toBe(0);
  });

  it('refuses a file that is not a database, names it once and leaves it alone', () => {
    const file = ledgerFile();
    const junk = 'not a database at all\n'.repeat(300);
    writeFileSync(file, junk);
    const err = openError(file);
    expect(err.message).toMatch(/is not a readable canvas-letters ledger/);
    expect(occurrences(err.message, file)).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(junk);
  });

  it('refuses a ledger whose letters table lacks a column of its schema version', () => {
    const file = ledgerFile();
    const db = new Database(file);
    db.exec('CREATE TABLE letters (letter_key TEXT PRIMARY KEY); CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)');
    db.pragma('user_version = 4');
    db.close();
    expect(openError(file).message).toMatch(/not a canvas-letters ledger of schema 4: table letters lacks status/);
  });

  it('opens a new file as a new ledger and says it created it; a reopen did not', () => {
    const file = ledgerFile();
    const first = Ledger.open(file);
    expect(first.created).toBe(true);
    first.close();
    const again = Ledger.open(file);
    expect(again.created).toBe(false);
    again.close();
  });
});

describe('SQLite errors of ledger operations are LedgerErrors', () => {
  it('a page damaged under an open ledger makes the claim fail with a LedgerError naming the file once', async () => {
    const file = await ledgerWith(3000);
    const l = Ledger.open(file);
    // Another connection commits and checkpoints, so the open ledger rereads pages at its next transaction.
    const other = new Database(file);
    other.prepare('UPDATE letters SET attempts = 2 WHERE letter_key = ?').run(key(1));
    other.pragma('wal_checkpoint(TRUNCATE)');
    const fd = openSync(file, 'r+');
    for (let page = 2; page * 4096 < statSync(file).size; page++) writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, (page - 1) * 4096);
    closeSync(fd);
    other.close();
    let caught: unknown;
    try {
      await l.claim(req(key(5000)));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(LedgerError);
    const message = (caught as Error).message;
    expect(message).toMatch(/SQLITE_CORRUPT|SQLITE_NOTADB/);
    expect(occurrences(message, file)).toBe(1);
    expect(message).not.toMatch(/^ledger:/);
    try {
      l.close();
    } catch {
      // closing a damaged ledger may fail too
    }
  });

  it('maps a full disk and an I/O error to LedgerError with what to do, and leaves other errors alone', () => {
    const full = ledgerError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), '/x/ledger.db', 100, 'recording letters');
    expect(full).toBeInstanceOf(LedgerError);
    expect((full as Error).message).toBe('/x/ledger.db: recording letters failed (SQLITE_FULL: database or disk is full): the disk holding the ledger is full: free space there, then run again (letters in flight stay pending and are reported unknown)');
    const io = ledgerError(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }), '/x/ledger.db', 100, 'recording letters');
    expect((io as Error).message).toMatch(/SQLITE_IOERR_WRITE.*check it, then run again/);
    const bug = new TypeError('not sqlite');
    expect(ledgerError(bug, '/x/ledger.db', 100, 'x')).toBe(bug);
  });
});

describe('a ledger belongs to one Canvas instance', () => {
  it('records the first origin used and refuses another, naming both', () => {
    const file = ledgerFile();
    const l = Ledger.open(file, { origin: 'https://sandbox.canvasmedical.com' });
    expect(l.origin).toBe('https://sandbox.canvasmedical.com');
    l.close();
    Ledger.open(file, { origin: 'https://sandbox.canvasmedical.com' }).close();
    let caught: unknown;
    try {
      Ledger.open(file, { origin: 'https://acme.canvasmedical.com' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(LedgerOriginError);
    expect((caught as Error).message).toContain('is the ledger of https://sandbox.canvasmedical.com, not of https://acme.canvasmedical.com');
  });

  it('an existing ledger of schema 1 keeps its letters and adopts the first origin used with it', () => {
    const file = schema1Ledger();
    const l = Ledger.open(file);
    expect(l.origin).toBeUndefined();
    expect(l.get(key(1))?.status).toBe('sent');
    l.bindOrigin('http://127.0.0.1:4000');
    l.close();
    expect(() => Ledger.open(file, { origin: 'http://127.0.0.1:4001' })).toThrow(LedgerOriginError);
  });
});

/** A closed ledger of schema 1 (frozen copy of its table) holding one sent letter, key(1). */
function schema1Ledger(): string {
  const file = ledgerFile();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA_1);
  db.prepare(`INSERT INTO letters VALUES (?, 'sent', 'p', 'q', 'r', 'visit', 201, 'L1', 1, 'in.csv', 1, 'run', 1, 't', 't')`).run(key(1));
  db.pragma('user_version = 1');
  db.close();
  return file;
}

const SCHEMA_1 = `CREATE TABLE letters (
  letter_key TEXT PRIMARY KEY NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unknown')),
  patient_key TEXT NOT NULL, provider_key TEXT NOT NULL, practice_location_key TEXT NOT NULL, template TEXT NOT NULL,
  http_status INTEGER, letter_id TEXT, attempts INTEGER NOT NULL,
  source_file TEXT NOT NULL, source_row INTEGER NOT NULL, run_id TEXT NOT NULL, pid INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
) WITHOUT ROWID; CREATE INDEX letters_status ON letters (status);`;
const SCHEMA_2 = "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;";

function schemaOf(file: string): { version: number; letters: string[]; tables: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      version: db.pragma('user_version', { simple: true }) as number,
      letters: db.prepare("SELECT name FROM pragma_table_info('letters')").pluck().all() as string[],
      tables: db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[],
    };
  } finally {
    db.close();
  }
}

describe('schema 4', () => {
  const NEW_COLUMNS = ['content_sha256', 'render_date', 'approval_id', 'approver', 'sent_by', 'fields_sha256'];

  it('migrates a schema-1 ledger to 4: its letters kept with the new columns null, resolutions and superseded tables, no origin yet', () => {
    const file = schema1Ledger();
    const l = Ledger.open(file);
    expect(l.get(key(1))).toMatchObject({ status: 'sent', letterId: 'L1', httpStatus: 201, sourceFile: 'in.csv' });
    expect(l.get(key(1))?.approver).toBeUndefined();
    expect(l.get(key(1))?.contentSha256).toBeUndefined(); // an old record: its letter is never "changed"
    expect(l.origin).toBeUndefined();
    l.close();
    const schema = schemaOf(file);
    expect(schema.version).toBe(4);
    expect(schema.letters).toEqual(expect.arrayContaining(NEW_COLUMNS));
    expect(schema.tables).toEqual(['letters', 'meta', 'resolutions', 'superseded']);
    const db = new Database(file, { readonly: true });
    expect(db.prepare(`SELECT ${NEW_COLUMNS.join(', ')} FROM letters`).get()).toEqual(Object.fromEntries(NEW_COLUMNS.map((c) => [c, null])));
    db.close();
  });

  it('migrates a schema-2 ledger to 4 keeping its letters and its origin', () => {
    const file = schema1Ledger();
    const db = new Database(file);
    db.exec(SCHEMA_2);
    db.prepare("INSERT INTO meta VALUES ('origin', 'https://acme.canvasmedical.com')").run();
    db.pragma('user_version = 2');
    db.close();
    const l = Ledger.open(file, { origin: 'https://acme.canvasmedical.com' });
    expect(l.origin).toBe('https://acme.canvasmedical.com');
    expect(l.get(key(1))?.status).toBe('sent');
    l.close();
    expect(schemaOf(file).version).toBe(4);
    expect(schemaOf(file).letters).toEqual(expect.arrayContaining(NEW_COLUMNS));
    expect(schemaOf(file).tables).toContain('superseded');
    expect(() => Ledger.open(file, { origin: 'https://other.canvasmedical.com' })).toThrow(LedgerOriginError);
  });

  it('migrates a schema-3 ledger to 4: who sent its letters is not known; a letter sent from then on records the account', async () => {
    const file = ledgerFile();
    const l = Ledger.open(file, { sentBy: 'clerk' });
    await l.claim({ letterKey: key(1), keys: { patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r' }, template: 'visit', sourceFile: 'in.csv', row: 1 });
    await l.finish(key(1), { status: 'sent', httpStatus: 201, attempts: 1 });
    l.close();
    const db = new Database(file);
    db.exec(`DROP INDEX letters_template_patient; ALTER TABLE letters DROP COLUMN sent_by; ALTER TABLE letters DROP COLUMN fields_sha256;
      ALTER TABLE superseded DROP COLUMN sent_by; ALTER TABLE superseded DROP COLUMN fields_sha256`);
    db.pragma('user_version = 3');
    db.close();
    const again = Ledger.open(file, { sentBy: 'nurse' });
    expect(again.get(key(1))?.status).toBe('sent');
    expect(again.get(key(1))?.sentBy).toBeUndefined();
    await again.claim({ letterKey: key(2), keys: { patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r' }, template: 'visit', sourceFile: 'in.csv', row: 2 });
    expect(again.get(key(2))?.sentBy).toBe('nurse');
    again.close();
    expect(schemaOf(file).version).toBe(4);
    expect(schemaOf(file).letters).toEqual(expect.arrayContaining(['sent_by', 'fields_sha256']));
  });

  it('refuses a schema-4 ledger without its resolutions table', () => {
    const file = ledgerFile();
    Ledger.open(file).close();
    const db = new Database(file);
    db.exec('DROP TABLE resolutions');
    db.close();
    expect(openError(file).message).toMatch(/not a canvas-letters ledger of schema 4: no resolutions table/);
  });

  it('refuses a schema-4 ledger without its superseded table (or lacking one of its columns)', () => {
    const file = ledgerFile();
    Ledger.open(file).close();
    const db = new Database(file);
    db.exec('ALTER TABLE superseded DROP COLUMN restored_at');
    db.close();
    expect(openError(file).message).toMatch(/not a canvas-letters ledger of schema 4: table superseded lacks restored_at/);
    const again = new Database(file);
    again.exec('DROP TABLE superseded');
    again.close();
    expect(openError(file).message).toMatch(/not a canvas-letters ledger of schema 4: no superseded table/);
  });
});
