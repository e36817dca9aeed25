/**
 * The send ledger: one SQLite file (WAL, synchronous=FULL) that records every letter key's fate so a
 * letter is never created twice, across runs, CSV files and processes sharing the file.
 *
 * A key is claimed (recorded `pending`) and that commit is durable before its request leaves; the
 * answer then makes it `sent`, `failed` or `unknown`. Claims, finishes and releases made in one
 * event-loop turn are group-committed in a single BEGIN IMMEDIATE transaction on setImmediate, and
 * each promise settles only after that COMMIT returned. The claim check and its write happen inside
 * that transaction, so two processes can never both claim a key.
 * Only keys, statuses, timestamps, HTTP status, letter id, attempts, source file and row (and,
 * from schema 3, a sent letter's sha256, render date and approval, people's resolutions, and the
 * records of sent letters a resend superseded) are stored: never letter content or merge values.
 * A claim with `supersede` (--resend-changed) keeps the sent record in the superseded table in the
 * claim's own transaction; a resend that then creates nothing gets that record back.
 *
 * This file is the store (the claims and the group commit); records.ts reads records, resolve.ts
 * records resolutions, open.ts opens, migrates and checks the file, errors.ts turns SQLite errors
 * into LedgerErrors.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { showName } from '../escape.js';
import { lstatOrUndefined, prepareLedgerFile } from '../fsutil.js';
import { KEY_FIELDS, type Keys } from '../types.js';
import { LedgerError, ledgerError } from './errors.js';
import { bindOrigin, openDatabase, readOrigin } from './open.js';
import { SELECT, selectFieldSignatures, selectRecords, selectResolutions, selectSentFor, selectSuperseded, toRecord, type AuditRecord, type LedgerRecord, type RecordFilter, type Resolution, type Row } from './records.js';
import { resolveLetter, type ResolveRequest, type ResolveResult } from './resolve.js';

export { LedgerBusyError, LedgerError, LedgerOriginError, ledgerError } from './errors.js';
export { currentResolution, type AuditRecord, type LedgerRecord, type LedgerStatus, type RecordFilter, type Resolution, type ResolutionOutcome } from './records.js';
export type { ResolveRequest, ResolveResult } from './resolve.js';

/** How long an outcome may wait for company before it is committed (claims never wait). */
const LAZY_MS = 20;

export interface ClaimRequest {
  letterKey: string;
  keys: Keys;
  template: string;
  sourceFile: string;
  row: number;
  /** The approval the letter is sent under (send --approved), and who approved it. */
  approvalId?: string;
  approver?: string;
  /** The signature of the template's merge fields (fieldsSignature), when known: a later run tells an edited field list by it. */
  fieldsSha256?: string;
}
export type ClaimResult = { claimed: true } | { claimed: false; existing: LedgerRecord };
export interface ClaimOptions {
  resendUnknown?: boolean;
  /**
   * --resend-changed: claim a key recorded `sent` whose letter now differs, as a new letter. Only
   * while the record is still sent with this content sha256; its record is kept in the superseded
   * table, in the claim's transaction. Should the resend create nothing (failed, or released), the
   * earlier record is restored: the key stays sent.
   */
  supersede?: string;
}
export interface FinishRequest {
  status: 'sent' | 'failed' | 'unknown';
  httpStatus?: number;
  letterId?: string;
  attempts: number;
  /** With `sent`: the sha256 (hex) of the exact content string sent (UTF-8), and the render date (YYYY-MM-DD). */
  contentSha256?: string;
  renderDate?: string;
}

const FINISH_STATUSES: ReadonlySet<string> = new Set(['sent', 'failed', 'unknown']);

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
  /** Keys this ledger claimed to supersede a sent record, and that record's row in the superseded table. */
  private readonly superseding = new Map<string, number | bigint>();
  /** When this ledger was opened: a claim is refused for a letter under other fields another run claimed since. */
  private readonly openedAt: string;

  /**
   * Open (or, unless `create` is false, create) the ledger at `file`; with `origin`, check it
   * against the Canvas instance the ledger belongs to (recorded on first use).
   */
  static open(file: string, opts: { runId?: string; busyTimeoutMs?: number; origin?: string; create?: boolean; sentBy?: string } = {}): Ledger {
    const path = resolve(file);
    const busyTimeoutMs = opts.busyTimeoutMs ?? 10_000;
    if (opts.create === false && lstatOrUndefined(path) === undefined) {
      throw new LedgerError(`no ledger at ${showName(path)}`, 'check --ledger (or CANVAS_LETTERS_LEDGER, the config file\'s ledger, CANVAS_BASE_URL); no ledger was created');
    }
    // Refuses a symlink, device or FIFO (and such -wal/-shm); a new file is 0600 before SQLite sees it,
    // and SQLite gives -wal/-shm the database file's mode.
    const { created } = prepareLedgerFile(path, (message, hint) => new LedgerError(message, hint));
    const db = openDatabase(path, { created, busyTimeoutMs, origin: opts.origin });
    return new Ledger(path, db, opts.runId ?? randomUUID(), busyTimeoutMs, created, opts.sentBy ?? accountName());
  }

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
    readonly runId: string,
    private readonly busyTimeoutMs: number,
    /** This open made the file (it did not exist before): the CLI announces a new ledger. */
    readonly created: boolean,
    /** Recorded with each letter this ledger claims (`sentBy`): the account the process runs as, when known. */
    readonly sentBy: string | undefined,
  ) {
    this.stmt = {
      get: db.prepare<[string], Row>(`${SELECT} WHERE letter_key = ?`),
      lookup: db.prepare<[string], Row>(`${SELECT} WHERE letter_key IN (SELECT value FROM json_each(?))`),
      claim: db.prepare(`INSERT INTO letters (letter_key, status, patient_key, provider_key, practice_location_key,
          template, attempts, source_file, source_row, run_id, pid, created_at, updated_at, approval_id, approver, sent_by, fields_sha256)
        VALUES (@letterKey, 'pending', @patientKey, @providerKey, @practiceLocationKey, @template, 0, @sourceFile, @row,
          @runId, @pid, @now, @now, @approvalId, @approver, @sentBy, @fieldsSha256)
        ON CONFLICT (letter_key) DO UPDATE SET status = 'pending', patient_key = excluded.patient_key,
          provider_key = excluded.provider_key, practice_location_key = excluded.practice_location_key,
          template = excluded.template, http_status = NULL, letter_id = NULL, attempts = 0,
          content_sha256 = NULL, render_date = NULL,
          source_file = excluded.source_file, source_row = excluded.source_row, run_id = excluded.run_id,
          pid = excluded.pid, updated_at = excluded.updated_at, approval_id = excluded.approval_id,
          approver = excluded.approver, sent_by = excluded.sent_by, fields_sha256 = excluded.fields_sha256`),
      finish: db.prepare(`UPDATE letters SET status = @status, http_status = @httpStatus, letter_id = @letterId,
          attempts = @attempts, content_sha256 = @contentSha256, render_date = @renderDate, updated_at = @now
        WHERE letter_key = @letterKey AND status = 'pending' AND run_id = @runId`),
      supersede: db.prepare(`INSERT INTO superseded (letter_key, letter_id, http_status, attempts, content_sha256, render_date,
          approval_id, approver, source_file, source_row, run_id, created_at, sent_at, superseded_at, superseded_by_run, sent_by, fields_sha256)
        SELECT letter_key, letter_id, http_status, attempts, content_sha256, render_date, approval_id, approver,
          source_file, source_row, run_id, created_at, updated_at, @now, @runId, sent_by, fields_sha256
        FROM letters WHERE letter_key = @letterKey AND status = 'sent'`),
      restore: db.prepare(`UPDATE letters SET status = 'sent', letter_id = s.letter_id, http_status = s.http_status,
          attempts = s.attempts, content_sha256 = s.content_sha256, render_date = s.render_date,
          approval_id = s.approval_id, approver = s.approver, source_file = s.source_file, source_row = s.source_row,
          run_id = s.run_id, created_at = s.created_at, updated_at = s.sent_at, sent_by = s.sent_by, fields_sha256 = s.fields_sha256
        FROM superseded s WHERE s.id = @id AND letters.letter_key = @letterKey AND letters.status = 'pending' AND letters.run_id = @runId`),
      restored: db.prepare(`UPDATE superseded SET restored_at = @now WHERE id = @id`),
      rival: db.prepare<[Record<string, string>], Row>(`${SELECT} WHERE template = @template AND patient_key = @patientKey
          AND provider_key = @providerKey AND practice_location_key = @practiceLocationKey AND fields_sha256 IS NOT NULL
          AND fields_sha256 != @fieldsSha256 AND status IN ('sent', 'pending', 'unknown') AND updated_at > @since AND run_id != @runId LIMIT 1`),
      release: db.prepare(`UPDATE letters SET status = 'failed', updated_at = @now
        WHERE letter_key = @letterKey AND status = 'pending' AND run_id = @runId`),
    };
    this.batch = db.transaction((ops: Op[]) => ops.map((op) => op.run()));
    openLedgers.add(this);
    this.openedAt = now();
  }

  /** The origin (scheme://host[:port]) of the Canvas instance this ledger belongs to, once recorded. */
  get origin(): string | undefined {
    return this.guard('reading its Canvas instance', () => readOrigin(this.db));
  }

  /**
   * Tie the ledger to a Canvas instance: the first origin used is recorded; another one is refused
   * with a LedgerOriginError naming both (nothing has been sent).
   */
  bindOrigin(origin: string): void {
    this.guard('recording its Canvas instance', () => bindOrigin(this.db, this.file, origin));
  }

  get(letterKey: string): LedgerRecord | undefined {
    const row = this.guard('looking up a letter', () => this.stmt.get.get(letterKey));
    return row && toRecord(row);
  }

  /** Records of the given keys that the ledger holds (committed state), in one query. */
  lookup(letterKeys: readonly string[]): Map<string, LedgerRecord> {
    const rows = this.guard('looking up letters', () => this.stmt.lookup.all(JSON.stringify(letterKeys)));
    return new Map(rows.map((r) => [r.letterKey, toRecord(r)]));
  }

  /**
   * Claim a key for sending; resolves once the pending record is committed. claimed when the key is
   * absent or failed, or unknown/pending with resendUnknown — except a pending key still in flight
   * (claimed by this ledger, another open ledger of this process, or a live process), never claimed twice.
   */
  claim(req: ClaimRequest, opts: ClaimOptions = {}): Promise<ClaimResult> {
    const strings = [req.letterKey, req.template, req.sourceFile, ...KEY_FIELDS.map((f) => req.keys?.[f])];
    const optional = [req.approvalId, req.approver, req.fieldsSha256];
    if (!strings.every((v) => typeof v === 'string') || !optional.every((v) => v === undefined || typeof v === 'string') || !Number.isInteger(req.row)) {
      // Checked here so that one bad request cannot make its whole group transaction fail.
      return Promise.reject(new Error(`invalid ledger claim for ${String(req.letterKey)}`));
    }
    return this.enqueue<ClaimResult>(() => {
      const existing = this.stmt.get.get(req.letterKey);
      const supersede = existing !== undefined && opts.supersede !== undefined && existing.status === 'sent' && existing.contentSha256 === opts.supersede;
      if (existing && !supersede && !this.claimable(existing, opts.resendUnknown === true)) {
        return { claimed: false, existing: toRecord(existing) };
      }
      // Another run, since this one opened the ledger, claimed a letter of this template to these keys
      // under other merge fields (a template edited between the two runs' checks): never both.
      const rival = req.fieldsSha256 === undefined ? undefined : this.stmt.rival.get({ template: req.template, ...req.keys, fieldsSha256: req.fieldsSha256, since: this.openedAt, runId: this.runId });
      if (rival) return { claimed: false, existing: toRecord(rival) };
      const { letterKey, keys, template, sourceFile, row } = req;
      const approval = { approvalId: req.approvalId ?? null, approver: req.approver ?? null };
      const at = now();
      if (supersede) this.superseding.set(letterKey, this.stmt.supersede.run({ letterKey, runId: this.runId, now: at }).lastInsertRowid);
      const who = { sentBy: this.sentBy ?? null, fieldsSha256: req.fieldsSha256 ?? null };
      this.stmt.claim.run({ letterKey, ...keys, template, sourceFile, row, ...approval, runId: this.runId, pid: process.pid, ...who, now: at });
      return { claimed: true };
    });
  }

  /**
   * Record what a person found on the chart for an unknown (or abandoned pending) key, in its own
   * IMMEDIATE transaction (resolve.ts): `sent` makes it skipped from then on, `not-sent` sendable
   * by a plain run. A UsageError says why a key cannot be resolved.
   */
  resolve(req: ResolveRequest): ResolveResult {
    this.flush();
    return this.guard('recording a resolution', () => resolveLetter(this.db, this.file, req, (rec) => this.inFlight(rec)));
  }

  /** The records a filter selects (ledger list, ledger export), oldest first. */
  records(filter: RecordFilter = {}): LedgerRecord[] {
    return this.guard('reading letters', () => selectRecords(this.db, filter));
  }

  /** Per template, the distinct signatures of merge fields its letters recorded sent, unknown or pending were made with (unknown signatures left out). */
  fieldSignatures(): Map<string, Set<string>> {
    return this.guard('reading letters', () => selectFieldSignatures(this.db));
  }

  /** The letters recorded sent, unknown or pending with one of these templates to the same three keys, oldest first. */
  sentFor(letters: readonly ({ template: string } & Keys)[]): LedgerRecord[] {
    return this.guard('reading letters', () => selectSentFor(this.db, letters));
  }

  /** The earlier letters resends superseded (superseded since a time), by letter key, oldest first. */
  supersededLetters(filter: Pick<RecordFilter, 'since'> = {}): Map<string, AuditRecord[]> {
    return this.guard('reading superseded letters', () => selectSuperseded(this.db, filter));
  }

  /** Every resolution, by letter key (or those of one key), oldest first. */
  resolutions(letterKey?: string): Map<string, Resolution[]> {
    return this.guard('reading resolutions', () => selectResolutions(this.db, letterKey));
  }

  /** Record the outcome of a key this ledger holds as pending; resolves when durable. */
  finish(letterKey: string, result: FinishRequest): Promise<void> {
    if (!FINISH_STATUSES.has(result.status) || !Number.isInteger(result.attempts) || result.attempts < 0) {
      // Checked here (not by the CHECK constraint) so that it cannot fail the whole group transaction.
      return Promise.reject(new Error(`invalid ledger outcome for ${letterKey}: ${JSON.stringify(result)}`));
    }
    const sent = result.status === 'sent';
    const params = { letterKey, status: result.status, httpStatus: result.httpStatus ?? null,
      letterId: result.letterId ?? null, attempts: result.attempts, runId: this.runId,
      contentSha256: sent ? (result.contentSha256 ?? null) : null, renderDate: sent ? (result.renderDate ?? null) : null };
    if (result.status === 'failed' && this.superseding.has(letterKey)) return this.release(letterKey);
    return this.settled(letterKey, this.enqueue<void>(() => this.held(letterKey, this.stmt.finish.run({ ...params, now: now() }).changes), false));
  }

  /**
   * A claimed key whose request never left: pending → failed (attempts unchanged), so a later run
   * retries it. A key claimed to supersede a sent letter gets that earlier record back instead
   * (nothing new was created: the key stays sent), and its superseded row says when.
   */
  release(letterKey: string): Promise<void> {
    const id = this.superseding.get(letterKey);
    if (id !== undefined) {
      return this.settled(letterKey, this.enqueue<void>(() => {
        const error = this.held(letterKey, this.stmt.restore.run({ id, letterKey, runId: this.runId }).changes);
        if (error === undefined) this.stmt.restored.run({ id, now: now() });
        return error;
      }, false));
    }
    return this.enqueue<void>(
      () => this.held(letterKey, this.stmt.release.run({ letterKey, runId: this.runId, now: now() }).changes),
      false,
    );
  }

  /** Once an outcome is committed, a superseding claim of the key is over (a failed commit is retried the same way). */
  private async settled(letterKey: string, write: Promise<void>): Promise<void> {
    await write;
    this.superseding.delete(letterKey);
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
      const error = ledgerError(e, this.file, this.busyTimeoutMs, 'recording letters');
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
    this.guard('closing', () => this.db.close());
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
    if (this.closed) return Promise.reject(new LedgerError(`${showName(this.file)}: the ledger is closed`));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
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

  private inFlight(rec: Pick<LedgerRecord, 'pid' | 'runId'>): boolean {
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
    return new LedgerError(`${showName(this.file)}: letter ${letterKey} is not pending for run ${this.runId}; nothing was recorded`);
  }

  /** Run a ledger operation; any SQLite error becomes a LedgerError naming the file. */
  private guard<T>(doing: string, run: () => T): T {
    try {
      return run();
    } catch (e) {
      throw ledgerError(e, this.file, this.busyTimeoutMs, doing);
    }
  }
}

function now(): string {
  return new Date().toISOString();
}

/**
 * The account this process runs as (its login name, else $USER or $LOGNAME), shown escaped: who
 * sent, for the audit. Undefined when the system knows none.
 */
function accountName(): string | undefined {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? process.env.LOGNAME;
  }
  const shown = name?.trim().slice(0, 200);
  return shown ? showName(shown) : undefined;
}
