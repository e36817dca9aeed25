/**
 * The send ledger: one SQLite file (WAL, synchronous=FULL) that records every letter key's fate so a
 * letter is never created twice, across runs, CSV files and processes sharing the file.
 *
 * A key is claimed (recorded `pending`) and that commit is durable before its request leaves; the
 * answer then makes it `sent`, `failed` or `unknown`. Claims, finishes and releases made in one
 * event-loop turn are group-committed in a single BEGIN IMMEDIATE transaction on setImmediate, and
 * each promise settles only after that COMMIT returned. The claim check and its write happen inside
 * that transaction, so two processes can never both claim a key.
 * Only keys, statuses, timestamps, HTTP status, letter id, attempts, source file and row are
 * stored: never letter content or merge values.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { CanvasLettersError } from './errors.js';
import { prepareLedgerFile } from './fsutil.js';
import { KEY_FIELDS, type Keys } from './types.js';

export type LedgerStatus = 'pending' | 'sent' | 'failed' | 'unknown';

/** How long an outcome may wait for company before it is committed (claims never wait). */
const LAZY_MS = 20;

export interface LedgerRecord {
  letterKey: string;
  status: LedgerStatus;
  patientKey: string;
  providerKey: string;
  practiceLocationKey: string;
  template: string;
  httpStatus?: number;
  letterId?: string;
  attempts: number;
  sourceFile: string;
  row: number;
  runId: string; // who last claimed it
  pid: number;
  createdAt: string; // ISO
  updatedAt: string;
}
export interface ClaimRequest { letterKey: string; keys: Keys; template: string; sourceFile: string; row: number }
export type ClaimResult = { claimed: true } | { claimed: false; existing: LedgerRecord };
export interface FinishRequest { status: 'sent' | 'failed' | 'unknown'; httpStatus?: number; letterId?: string; attempts: number }

/** The database stayed locked by another process past the busy timeout. */
/** The ledger cannot be used (unreadable, not a ledger, locked): nothing is sent (exit 2). */
export class LedgerError extends CanvasLettersError {}

/** The database stayed locked by another process past the busy timeout. */
export class LedgerBusyError extends LedgerError {}

const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE letters (
  letter_key TEXT PRIMARY KEY NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unknown')),
  patient_key TEXT NOT NULL, provider_key TEXT NOT NULL, practice_location_key TEXT NOT NULL, template TEXT NOT NULL,
  http_status INTEGER, letter_id TEXT, attempts INTEGER NOT NULL,
  source_file TEXT NOT NULL, source_row INTEGER NOT NULL, run_id TEXT NOT NULL, pid INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX letters_status ON letters (status);`;
const SELECT = `SELECT letter_key AS letterKey, status, patient_key AS patientKey, provider_key AS providerKey,
  practice_location_key AS practiceLocationKey, template, http_status AS httpStatus, letter_id AS letterId, attempts,
  source_file AS sourceFile, source_row AS row, run_id AS runId, pid, created_at AS createdAt, updated_at AS updatedAt
  FROM letters`;
const FINISH_STATUSES: ReadonlySet<string> = new Set(['sent', 'failed', 'unknown']);

type Row = Omit<LedgerRecord, 'httpStatus' | 'letterId'> & { httpStatus: number | null; letterId: string | null };
interface Op {
  /** Runs inside the group transaction; an Error result rejects this op only (others still commit). */
  run: () => unknown;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

/** Ledgers open in this process, to tell a pending key in flight here from one left by a dead run. */
const openLedgers = new Set<Ledger>();

export class Ledger {
  private queue: Op[] = [];
  private timer: { urgent: boolean; handle: NodeJS.Immediate | NodeJS.Timeout } | undefined;
  private closed = false;
  private commits = 0;
  private readonly stmt;
  private readonly batch;

  static open(file: string, opts: { runId?: string; busyTimeoutMs?: number } = {}): Ledger {
    const path = resolve(file);
    const busyTimeoutMs = opts.busyTimeoutMs ?? 10_000;
    // Refuses a symlink, device, FIFO or empty file (and such -wal/-shm); a new file is 0600 before SQLite sees it,
    // and SQLite gives -wal/-shm the database file's mode.
    const { created } = prepareLedgerFile(path, (message, hint) => new LedgerError(message, hint));
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: busyTimeoutMs });
      walMode(db, Date.now() + busyTimeoutMs); // the first read: a non-SQLite file fails here
      db.pragma('synchronous = FULL');
      migrate(db, path);
    } catch (e) {
      db?.close();
      throw openError(e, path, busyTimeoutMs);
    }
    return new Ledger(path, db, opts.runId ?? randomUUID(), busyTimeoutMs, created);
  }

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
    readonly runId: string,
    private readonly busyTimeoutMs: number,
    /** True when this open created the ledger file (the CLI says so). */
    readonly created: boolean,
  ) {
    this.stmt = {
      get: db.prepare<[string], Row>(`${SELECT} WHERE letter_key = ?`),
      lookup: db.prepare<[string], Row>(`${SELECT} WHERE letter_key IN (SELECT value FROM json_each(?))`),
      claim: db.prepare(`INSERT INTO letters (letter_key, status, patient_key, provider_key, practice_location_key,
          template, attempts, source_file, source_row, run_id, pid, created_at, updated_at)
        VALUES (@letterKey, 'pending', @patientKey, @providerKey, @practiceLocationKey, @template, 0, @sourceFile, @row,
          @runId, @pid, @now, @now)
        ON CONFLICT (letter_key) DO UPDATE SET status = 'pending', patient_key = excluded.patient_key,
          provider_key = excluded.provider_key, practice_location_key = excluded.practice_location_key,
          template = excluded.template, http_status = NULL, letter_id = NULL, attempts = 0,
          source_file = excluded.source_file, source_row = excluded.source_row, run_id = excluded.run_id,
          pid = excluded.pid, updated_at = excluded.updated_at`),
      finish: db.prepare(`UPDATE letters SET status = @status, http_status = @httpStatus, letter_id = @letterId,
          attempts = @attempts, updated_at = @now
        WHERE letter_key = @letterKey AND status = 'pending' AND run_id = @runId`),
      release: db.prepare(`UPDATE letters SET status = 'failed', updated_at = @now
        WHERE letter_key = @letterKey AND status = 'pending' AND run_id = @runId`),
    };
    this.batch = db.transaction((ops: Op[]) => ops.map((op) => op.run()));
    openLedgers.add(this);
  }

  get(letterKey: string): LedgerRecord | undefined {
    const row = this.guard(() => this.stmt.get.get(letterKey));
    return row && toRecord(row);
  }

  /** Records of the given keys that the ledger holds (committed state), in one query. */
  lookup(letterKeys: readonly string[]): Map<string, LedgerRecord> {
    const rows = this.guard(() => this.stmt.lookup.all(JSON.stringify(letterKeys)));
    return new Map(rows.map((r) => [r.letterKey, toRecord(r)]));
  }

  /**
   * Claim a key for sending; resolves once the pending record is committed. claimed when the key is
   * absent or failed, or unknown/pending with resendUnknown — except a pending key still in flight
   * (claimed by this ledger, another open ledger of this process, or a live process), never claimed twice.
   */
  claim(req: ClaimRequest, opts: { resendUnknown?: boolean } = {}): Promise<ClaimResult> {
    const strings = [req.letterKey, req.template, req.sourceFile, ...KEY_FIELDS.map((f) => req.keys?.[f])];
    if (!strings.every((v) => typeof v === 'string') || !Number.isInteger(req.row)) {
      // Checked here so that one bad request cannot make its whole group transaction fail.
      return Promise.reject(new Error(`ledger: invalid claim for ${String(req.letterKey)}`));
    }
    return this.enqueue<ClaimResult>(() => {
      const existing = this.stmt.get.get(req.letterKey);
      if (existing && !this.claimable(existing, opts.resendUnknown === true)) {
        return { claimed: false, existing: toRecord(existing) };
      }
      const { letterKey, keys, template, sourceFile, row } = req;
      this.stmt.claim.run({ letterKey, ...keys, template, sourceFile, row, runId: this.runId, pid: process.pid, now: now() });
      return { claimed: true };
    });
  }

  /** Record the outcome of a key this ledger holds as pending; resolves when durable. */
  finish(letterKey: string, result: FinishRequest): Promise<void> {
    if (!FINISH_STATUSES.has(result.status) || !Number.isInteger(result.attempts) || result.attempts < 0) {
      // Checked here (not by the CHECK constraint) so that it cannot fail the whole group transaction.
      return Promise.reject(new Error(`ledger: invalid outcome for ${letterKey}: ${JSON.stringify(result)}`));
    }
    const params = { letterKey, status: result.status, httpStatus: result.httpStatus ?? null,
      letterId: result.letterId ?? null, attempts: result.attempts, runId: this.runId };
    return this.enqueue<void>(() => this.held(letterKey, this.stmt.finish.run({ ...params, now: now() }).changes), false);
  }

  /** A claimed key whose request never left: pending → failed (attempts unchanged), so a later run retries it. */
  release(letterKey: string): Promise<void> {
    return this.enqueue<void>(
      () => this.held(letterKey, this.stmt.release.run({ letterKey, runId: this.runId, now: now() }).changes),
      false,
    );
  }

  /** Commit everything queued now, in one IMMEDIATE transaction, then settle its promises. */
  flush(): void {
    this.cancelTimer();
    const ops = this.queue;
    if (ops.length === 0) return;
    this.queue = [];
    let results: unknown[];
    try {
      results = this.batch.immediate(ops);
    } catch (e) {
      const error = isBusy(e) ? this.busyError() : e;
      for (const op of ops) op.reject(error);
      return;
    }
    this.commits++;
    ops.forEach((op, i) => (results[i] instanceof Error ? op.reject(results[i]) : op.resolve(results[i] as never)));
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    openLedgers.delete(this);
    this.db.close();
  }

  /** @internal Number of group transactions committed so far (for tests). */
  get commitCount(): number {
    return this.commits;
  }

  /**
   * Queue an operation for the next group commit. A claim is urgent (its request waits for it):
   * committed at the end of this event-loop turn. An outcome is not: it waits up to LAZY_MS for
   * company (usually the next claims), so the disk syncs about once per round, not twice.
   */
  private enqueue<T>(run: () => T | Error, urgent = true): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`ledger ${this.file} is closed`));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: never) => void, reject });
      if (urgent && this.timer?.urgent !== true) {
        this.cancelTimer();
        this.timer = { urgent: true, handle: setImmediate(() => this.flush()) };
      } else if (!this.timer) {
        this.timer = { urgent: false, handle: setTimeout(() => this.flush(), LAZY_MS) };
      }
    });
  }

  private cancelTimer(): void {
    if (!this.timer) return;
    if (this.timer.urgent) clearImmediate(this.timer.handle as NodeJS.Immediate);
    else clearTimeout(this.timer.handle as NodeJS.Timeout);
    this.timer = undefined;
  }

  private claimable(rec: Row, resendUnknown: boolean): boolean {
    if (rec.status === 'failed') return true;
    if (rec.status === 'unknown') return resendUnknown;
    if (rec.status === 'pending') return resendUnknown && !this.inFlight(rec);
    return false; // sent
  }

  private inFlight(rec: Row): boolean {
    if (rec.pid === process.pid) return [...openLedgers].some((l) => l.runId === rec.runId);
    try {
      process.kill(rec.pid, 0); // signal 0: only asks whether the process exists
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  private held(letterKey: string, changes: number): Error | undefined {
    if (changes === 1) return undefined;
    return new Error(`ledger: letter ${letterKey} is not pending for run ${this.runId}; nothing was recorded`);
  }

  private guard<T>(read: () => T): T {
    try {
      return read();
    } catch (e) {
      throw isBusy(e) ? this.busyError() : e;
    }
  }

  private busyError(): LedgerBusyError {
    return new LedgerBusyError(busyMessage(this.file, this.busyTimeoutMs));
  }
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

function migrate(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${path}: ledger schema ${version} is newer than this canvas-letters knows (${SCHEMA_VERSION}); upgrade canvas-letters.`);
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    if ((db.pragma('user_version', { simple: true }) as number) === SCHEMA_VERSION) return; // another process won
    if ((db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number) > 0) {
      throw new LedgerError(`${path} is an SQLite database but not a canvas-letters ledger`, 'move it aside or choose another --ledger path');
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function openError(e: unknown, path: string, busyTimeoutMs: number): unknown {
  if (e instanceof LedgerError) return e;
  if (isBusy(e)) return new LedgerBusyError(busyMessage(path, busyTimeoutMs));
  const code = (e as { code?: unknown }).code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new LedgerError(
      `${path} is not a readable canvas-letters ledger (${(e as Error).message}); nothing was sent`,
      'restore it from a backup, or move it aside (rename it) to start an empty ledger: letters it recorded as sent would then no longer be skipped',
    );
  }
  return new LedgerError(`${path}: cannot open the ledger (${(e as Error).message})`, 'check the --ledger path and its permissions');
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function busyMessage(path: string, ms: number): string {
  return `${path}: the ledger stayed locked by another process for more than ${ms} ms`;
}

function toRecord(r: Row): LedgerRecord {
  const { httpStatus, letterId, ...rest } = r;
  return { ...rest, ...(httpStatus !== null && { httpStatus }), ...(letterId !== null && { letterId }) };
}

function now(): string {
  return new Date().toISOString();
}
