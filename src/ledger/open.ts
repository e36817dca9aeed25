/**
 * Opening a ledger file: wait for a file another process is creating, switch to WAL, refuse a
 * damaged file or a database that is not a ledger, migrate the schema, and check or record the
 * Canvas instance (origin) the ledger belongs to.
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { showName } from '../escape.js';
import { LedgerBusyError, LedgerError, LedgerOriginError, RESTORE_HINT, busyMessage, isBusy, ledgerError, sqliteCode } from './errors.js';

/**
 * 1: the letters table; 2: the meta table (the Canvas instance's origin); 3: each letter's content
 * sha256, render date, approval id and approver, the resolutions table (what a person found on
 * the chart, as history: rows are only ever added), and the superseded table (a sent letter's
 * record, kept when --resend-changed sends that key again as a new letter; rows are only added,
 * and `restored_at` is set when that resend created nothing and the earlier record came back);
 * 4: who ran the send of each letter (`sent_by`: the account of the process that claimed it), and
 * the signature of its template's merge fields (`fields_sha256`: the field names its letter key
 * hashed the values of), in both letters and superseded; an index to find the letters sent with a
 * template to the same three keys.
 */
const SCHEMA_VERSION = 4;
const SCHEMA_V1 = `
CREATE TABLE letters (
  letter_key TEXT PRIMARY KEY NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unknown')),
  patient_key TEXT NOT NULL, provider_key TEXT NOT NULL, practice_location_key TEXT NOT NULL, template TEXT NOT NULL,
  http_status INTEGER, letter_id TEXT, attempts INTEGER NOT NULL,
  source_file TEXT NOT NULL, source_row INTEGER NOT NULL, run_id TEXT NOT NULL, pid INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX letters_status ON letters (status);`;
const SCHEMA_V2 = 'CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;';
const SCHEMA_V3 = `
ALTER TABLE letters ADD COLUMN content_sha256 TEXT;
ALTER TABLE letters ADD COLUMN render_date TEXT;
ALTER TABLE letters ADD COLUMN approval_id TEXT;
ALTER TABLE letters ADD COLUMN approver TEXT;
CREATE TABLE resolutions (
  id INTEGER PRIMARY KEY,
  letter_key TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'not-sent')),
  letter_id TEXT, by TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX resolutions_letter_key ON resolutions (letter_key);
CREATE TABLE superseded (
  id INTEGER PRIMARY KEY,
  letter_key TEXT NOT NULL,
  letter_id TEXT, http_status INTEGER, attempts INTEGER NOT NULL,
  content_sha256 TEXT, render_date TEXT, approval_id TEXT, approver TEXT,
  source_file TEXT NOT NULL, source_row INTEGER NOT NULL, run_id TEXT NOT NULL,
  created_at TEXT NOT NULL, sent_at TEXT NOT NULL,
  superseded_at TEXT NOT NULL, superseded_by_run TEXT NOT NULL, restored_at TEXT
);
CREATE INDEX superseded_letter_key ON superseded (letter_key);`;
const SCHEMA_V4 = `
ALTER TABLE letters ADD COLUMN sent_by TEXT;
ALTER TABLE letters ADD COLUMN fields_sha256 TEXT;
ALTER TABLE superseded ADD COLUMN sent_by TEXT;
ALTER TABLE superseded ADD COLUMN fields_sha256 TEXT;
CREATE INDEX letters_template_patient ON letters (template, patient_key);`;
const LETTERS_COLUMNS = ['letter_key', 'status', 'patient_key', 'provider_key', 'practice_location_key', 'template',
  'http_status', 'letter_id', 'attempts', 'source_file', 'source_row', 'run_id', 'pid', 'created_at', 'updated_at',
  'content_sha256', 'render_date', 'approval_id', 'approver', 'sent_by', 'fields_sha256'];
const META_COLUMNS = ['key', 'value'];
const RESOLUTIONS_COLUMNS = ['id', 'letter_key', 'outcome', 'letter_id', 'by', 'at'];
const SUPERSEDED_COLUMNS = ['id', 'letter_key', 'letter_id', 'http_status', 'attempts', 'content_sha256', 'render_date',
  'approval_id', 'approver', 'source_file', 'source_row', 'run_id', 'created_at', 'sent_at', 'superseded_at',
  'superseded_by_run', 'restored_at', 'sent_by', 'fields_sha256'];
/** How long an existing empty file may take to become a database (another process creating it) before it is refused. */
const EMPTY_WAIT_MS = 2_000;

/**
 * Open the ledger database at `path` (prepared by prepareLedgerFile: `created` when this open made
 * it): WAL, synchronous=FULL, the integrity check before any write, the schema migrated and checked,
 * and the origin bound when given. Any failure closes the database and throws a LedgerError.
 */
export function openDatabase(path: string, opts: { created: boolean; busyTimeoutMs: number; origin?: string }): Database.Database {
  const { busyTimeoutMs } = opts;
  let db: Database.Database | undefined;
  try {
    if (!opts.created) awaitContent(path, Date.now() + Math.min(busyTimeoutMs, EMPTY_WAIT_MS), busyTimeoutMs);
    db = new Database(path, { timeout: busyTimeoutMs });
    walMode(db, Date.now() + busyTimeoutMs); // the first read: a non-SQLite file fails here
    db.pragma('synchronous = FULL');
    checkIntegrity(db, path); // before any write: a damaged ledger is never migrated
    migrate(db, path);
    checkSchema(db, path);
    if (opts.origin !== undefined) bindOrigin(db, path, opts.origin);
  } catch (e) {
    db?.close();
    throw openError(e, path, busyTimeoutMs);
  }
  return db;
}

/**
 * Switching a new file to WAL upgrades a read lock to a write lock, and SQLite answers SQLITE_BUSY at
 * once (no busy handler) when another process opens the same new file at that moment: retry until the deadline.
 */
function walMode(db: Database.Database, deadline: number): void {
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // sleep 5 ms
    }
  }
}

/**
 * An existing file that is still empty is either being made a ledger by another process right now
 * (it gets its first page within milliseconds) or a damaged ledger (truncated to 0 bytes): wait a
 * little, then refuse it. SQLite would take it for a new, empty ledger and every letter would be sent again.
 */
function awaitContent(path: string, deadline: number, busyTimeoutMs: number): void {
  while (statSync(path).size === 0) {
    if (Date.now() >= deadline) {
      if (lockedByOther(path)) throw new LedgerBusyError(busyMessage(path, busyTimeoutMs));
      throw new LedgerError(`${showName(path)} exists but is empty (0 bytes): it is not a new ledger; nothing was sent`, RESTORE_HINT);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // sleep 10 ms
  }
}

/** Whether another connection holds a lock on the (empty) file: a process creating the ledger. Writes nothing. */
function lockedByOther(path: string): boolean {
  const probe = new Database(path, { timeout: 0 });
  try {
    probe.exec('BEGIN EXCLUSIVE');
    probe.exec('ROLLBACK');
    return false;
  } catch (e) {
    if (isBusy(e)) return true;
    throw e;
  } finally {
    probe.close();
  }
}

/** `PRAGMA quick_check`: a damaged file (a page cut short, a torn write) is refused before anything reads it as a ledger. */
function checkIntegrity(db: Database.Database, path: string): void {
  const problems = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).filter((m) => m !== 'ok');
  if (problems.length === 0) return;
  throw new LedgerError(
    `${showName(path)} is damaged: the integrity check found ${problems.length} problem${problems.length === 1 ? '' : 's'} (first: ${showName(problems[0]!)}); nothing was sent`,
    RESTORE_HINT,
  );
}

function migrate(db: Database.Database, path: string): void {
  const version = userVersion(db);
  if (version > SCHEMA_VERSION) {
    throw new LedgerError(`${showName(path)}: ledger schema ${version} is newer than this canvas-letters knows (${SCHEMA_VERSION})`, 'upgrade canvas-letters');
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    const now = userVersion(db);
    if (now === SCHEMA_VERSION) return; // another process won
    if (now === 0) {
      if ((db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number) > 0) {
        throw new LedgerError(`${showName(path)} is an SQLite database but not a canvas-letters ledger`, 'move it aside or choose another --ledger path');
      }
      db.exec(SCHEMA_V1);
    }
    if (now < 2) db.exec(SCHEMA_V2); // 1 → 2: an existing ledger adopts the first origin used with it
    if (now < 3) db.exec(SCHEMA_V3); // 2 → 3: the new columns are null for the letters already recorded
    db.exec(SCHEMA_V4); // 3 → 4: who sent the letters already recorded is not known (null)
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** The tables a ledger of this schema version must have, with their columns. */
function checkSchema(db: Database.Database, path: string): void {
  for (const [table, expected] of [['letters', LETTERS_COLUMNS], ['meta', META_COLUMNS], ['resolutions', RESOLUTIONS_COLUMNS], ['superseded', SUPERSEDED_COLUMNS]] as const) {
    const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    const lacking = expected.filter((c) => !have.has(c));
    if (lacking.length > 0) {
      throw new LedgerError(
        `${showName(path)} is not a canvas-letters ledger of schema ${SCHEMA_VERSION}: ${have.size === 0 ? `no ${table} table` : `table ${table} lacks ${lacking.join(', ')}`}; nothing was sent`,
        RESTORE_HINT,
      );
    }
  }
}

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function readOrigin(db: Database.Database): string | undefined {
  return db.prepare<[string], string>("SELECT value FROM meta WHERE key = ?").pluck().get('origin');
}

export function bindOrigin(db: Database.Database, path: string, origin: string): void {
  db.transaction(() => {
    const recorded = readOrigin(db);
    if (recorded === undefined) db.prepare("INSERT INTO meta (key, value) VALUES ('origin', ?)").run(origin);
    else if (recorded !== origin) {
      throw new LedgerOriginError(
        `${showName(path)} is the ledger of ${showName(recorded)}, not of ${showName(origin)} (CANVAS_BASE_URL); nothing was sent`,
        'each Canvas instance has its own ledger: check CANVAS_BASE_URL, or leave --ledger and CANVAS_LETTERS_LEDGER unset to use the default ledger of this instance',
      );
    }
  }).immediate();
}

function openError(e: unknown, path: string, busyTimeoutMs: number): unknown {
  if (e instanceof LedgerError) return e;
  const code = sqliteCode(e);
  if (code === 'SQLITE_NOTADB' || code?.startsWith('SQLITE_CORRUPT')) {
    return new LedgerError(`${showName(path)} is not a readable canvas-letters ledger (${(e as Error).message}); nothing was sent`, RESTORE_HINT);
  }
  if (code !== undefined) return ledgerError(e, path, busyTimeoutMs, 'opening');
  return new LedgerError(`${showName(path)}: cannot open the ledger (${(e as Error).message})`, 'check the --ledger path and its permissions');
}
