/**
 * The send pass: streams the rows a second time (the CSV read again, or an approved batch's
 * letter files: a PassSource) and accounts for every row, in order. Rows
 * validation or the ledger settled are reported as they come; each letter to send goes out
 * with at most `concurrency` requests in flight and at most `rate` started per second. For
 * every letter the pending record is committed to the ledger before its request leaves, and
 * its outcome after the answer. It stops starting letters on interrupt, on 403 or a second
 * 401, when 10 letters in a row end failed or unknown (circuit breaker), and when the report
 * or the ledger cannot be written; the rows after that are reported `not_attempted`. It
 * always waits for every request in flight and records its outcome (retrying the ledger for a
 * bounded time) before it returns; it never rejects for a write failure.
 */
import { resolve as resolvePath } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { planRows, type PassRow } from '../plan/replay.js';
import { reportRow, unreadRow } from '../report/rows.js';
import { sendWithRetry, type CanvasClient, type LetterResult, type TokenSource } from '../canvas/index.js';
import type { FinishRequest, Ledger, LedgerRecord } from '../ledger/ledger.js';
import { fieldsSignature } from '../plan/letter-key.js';
import { contentSha256 } from './changed.js';
import type { EarlierLetter } from './reshaped.js';
import { Decision, ledgerVerdict } from './decide.js';
import { RateLimiter } from './rate-limit.js';
import { Recorder, ledgerMessage, messageOf, type RecordRetry, type UnrecordedRow } from './record.js';
import type { ReportRow, RowStatus } from '../types.js';
import type { Plan, PlannedRow } from '../plan/validate.js';

export type { UnrecordedRow } from './record.js';

export const CIRCUIT_BREAKER_THRESHOLD = 10;

/** The template a letter is made with, as its claim records it. */
interface LetterTemplate {
  name: string;
  fieldsSha256?: string;
}

/** A letter already made: an approved letter file's content, sent as it is (send --approved). */
export interface ReadyLetter {
  templateName: string;
  content: string;
  /** The signature of the merge fields of the template it was made with, when known (recorded in the ledger). */
  fieldsSha256?: string;
}

/** A row of the pass: the CSV's second pass gives PassRows; an approved batch gives ready letters. */
export interface SendRow {
  planned: PlannedRow;
  letter?: PassRow['letter'] | ReadyLetter;
  /** A row reported as it is, whatever its plan status (an approved batch's row that is not approved). */
  report?: ReportRow;
}

/** Where the pass's rows come from: how many, the file the ledger records, and the rows in order. */
export interface PassSource {
  readonly rows: number;
  readonly file: string;
  /** The date the letters were rendered at (`{{today}}`), recorded with each sent letter. */
  readonly renderDate: string;
  passRows(): AsyncIterable<SendRow>;
}

/** The rows of a validated CSV, read again (planRows). */
export function planSource(plan: Plan): PassSource {
  return { rows: plan.rows, file: plan.source.file, renderDate: plan.templates.renderDate, passRows: () => planRows(plan) };
}

export interface SendProgress {
  total: number;
  done: number;
  inFlight: number;
  sent: number;
  failed: number;
  unknown: number;
  skipped: number;
}

export interface SenderOptions {
  source: PassSource;
  /** The approval the letters are sent under (send --approved): recorded with each claim, and sent as a request header. */
  approval?: { id: string; approver: string };
  /** Per row number: the ledger's decision for ready rows (0 for the others). */
  decisions: Uint8Array;
  /** How many rows are to be sent. */
  toSend: number;
  ledger: Pick<Ledger, 'claim' | 'finish' | 'release' | 'get'>;
  /** The client; absent when nothing may be sent (`notSending` says why). */
  sending?: { client: CanvasClient; tokens: TokenSource };
  /** Why letters to send are not sent in this run (not confirmed, credentials refused). */
  notSending?: string;
  limit?: number;
  /** Report a row. Throwing means the report cannot be written: the run stops (the message is shown as is). */
  add: (row: ReportRow) => void;
  concurrency: number;
  rate?: number;
  /** Rows whose earlier outcome is unknown are sent again (and not reported unknown). */
  resendUnknown?: boolean;
  /** Rows recorded sent whose letter now differs (Changed, Resend): the content sha256 the ledger recorded (decideRows). */
  changed?: ReadonlyMap<number, string>;
  /** Rows whose key is new because their template's fields changed: the earlier letter they were matched to (Decisions.earlier). */
  earlier?: ReadonlyMap<number, EarlierLetter>;
  /** Notes for rows already sent (Decisions.notes). */
  notes?: ReadonlyMap<number, string>;
  /** Aborting stops starting letters (Ctrl-C); requests in flight finish and are recorded. */
  signal?: AbortSignal;
  retryBaseDelayMs?: number;
  /** How ledger writes are retried after a write failure (tests inject a clock). */
  recordRetry?: RecordRetry;
  onProgress?: (progress: SendProgress) => void;
}

export interface SenderOutcome {
  /** The signal had fired by the end of the pass: letters not started by then are not_attempted. */
  interrupted: boolean;
  /** The run stopped on a 403 (forbidden), or on a second 401 or refused credentials (unauthorized). */
  authFailure?: 'forbidden' | 'unauthorized';
  stopReason?: string;
  /** The first write failure (report or ledger), when the run stopped on one. */
  writeFailure?: string;
  /** Outcomes the ledger could not record, in the order they ended. */
  unrecorded: UnrecordedRow[];
  /** At least one letter was handed to the retry policy (a request may have left). */
  began: boolean;
}

export async function runSender(o: SenderOptions): Promise<SenderOutcome> {
  return new SendPass(o).run();
}

class SendPass {
  private readonly stopper = new AbortController(); // cuts retry backoffs short once the run stops
  private stopReason?: string;
  private authFailure: SenderOutcome['authFailure'];
  private began = false;
  private badInARow = 0;
  private readonly recorder: Recorder;
  private readonly limiter?: RateLimiter;
  private readonly progress: SendProgress;
  private readonly running = new Set<Promise<void>>();
  /** Resolves the pass's wait for a free place in the queue (one waiter at most: the pass itself). */
  private wake?: () => void;
  private readonly signatures = new Map<string, string>();

  constructor(private readonly o: SenderOptions) {
    this.recorder = new Recorder((message) => this.stop(message), o.recordRetry);
    this.limiter = o.rate ? new RateLimiter(o.rate) : undefined;
    this.progress = { total: o.toSend, done: 0, inFlight: 0, sent: 0, failed: 0, unknown: 0, skipped: 0 };
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private stop(reason: string): void {
    this.stopReason ??= reason;
    this.stopper.abort();
  }

  private readonly onInterrupt = () => this.stop('interrupted');

  async run(): Promise<SenderOutcome> {
    const { o } = this;
    if (o.signal?.aborted) this.onInterrupt();
    o.signal?.addEventListener('abort', this.onInterrupt, { once: true });
    const limit = pLimit(o.concurrency);
    let lastRow = 0;
    try {
      for await (const passRow of o.source.passRows()) {
        lastRow = passRow.planned.row;
        try {
          await this.handle(passRow, limit);
        } catch (err) {
          this.unexpected(passRow, err);
        }
      }
    } catch (err) {
      // The file cannot be read again (it changed since validation: FileChangedError, or a read
      // failed): stop, and account for the rows that can no longer be read.
      this.stop(messageOf(err));
      for (let row = lastRow + 1; row <= o.source.rows; row++) this.add(unreadRow(row, `not attempted: ${this.stopReason}`));
    } finally {
      // Every request in flight ends and is recorded before the caller may close the ledger or the client.
      while (this.running.size > 0) await Promise.allSettled([...this.running]);
      o.signal?.removeEventListener('abort', this.onInterrupt);
    }
    return {
      interrupted: o.signal?.aborted === true,
      ...(this.authFailure ? { authFailure: this.authFailure } : {}),
      ...(this.stopReason ? { stopReason: this.stopReason } : {}),
      ...(this.recorder.failure !== undefined ? { writeFailure: this.recorder.failure } : {}),
      unrecorded: this.recorder.unrecorded,
      began: this.began,
    };
  }

  /** Report a row of the second pass, or queue its letter. Returns once it is reported or queued. */
  private async handle({ planned, letter, report }: SendRow, limit: LimitFunction): Promise<void> {
    const { o } = this;
    const decision = o.decisions[planned.row] as Decision | 0;
    if (!letter) this.add(report ?? reportRow(planned, planned.status as RowStatus));
    else if (decision === Decision.AlreadySent || decision === Decision.Unknown || decision === Decision.Changed) this.settled(planned);
    else if (decision === Decision.OverLimit) this.add(reportRow(planned, 'not_attempted', { error: `over --limit ${o.limit}` }));
    else if (!o.sending) this.notAttempted(planned, o.notSending);
    else if (this.stopped) this.notAttempted(planned);
    else await this.enqueue(planned, letter, limit);
  }

  /** Render a letter to send and queue it, once the queue has room. */
  private async enqueue(planned: PlannedRow, letter: NonNullable<SendRow['letter']>, limit: LimitFunction): Promise<void> {
    // Backpressure: never queue more than one extra letter per slot (flat memory).
    while (this.running.size >= this.o.concurrency * 2) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.stopped) {
      this.notAttempted(planned);
      return;
    }
    // Rendered before a slot frees up, so a free slot goes straight to the ledger and the wire.
    if ('content' in letter) this.track(this.letter(limit, planned, { name: letter.templateName, fieldsSha256: letter.fieldsSha256 }, letter.content));
    else this.track(this.letter(limit, planned, { name: letter.template.name, fieldsSha256: this.signature(letter.template) }, letter.template.renderLetter(letter.data)));
  }

  /** A template's fields signature, computed once per template. */
  private signature(t: { name: string; fields: { all: readonly string[] } }): string {
    let sig = this.signatures.get(t.name);
    if (sig === undefined) this.signatures.set(t.name, (sig = fieldsSignature(t.fields.all)));
    return sig;
  }

  /**
   * Handling a row threw (not expected, e.g. its letter failed to render after validation): the
   * run stops with the error's message, the row is reported not_attempted with it, and the
   * rows after it are still read and reported.
   */
  private unexpected({ planned, letter }: SendRow, err: unknown): void {
    const message = messageOf(err);
    this.stop(message);
    const row = reportRow(planned, 'not_attempted', { error: `not attempted: ${message}` });
    if (letter && isToSend(this.o.decisions[planned.row] as Decision | 0)) this.finish(row);
    else this.add(row);
  }

  private track(work: Promise<void>): void {
    const task: Promise<void> = work
      .catch((err: unknown) => this.stop(messageOf(err))) // not expected: every step below handles its own failures
      .finally(() => {
        this.running.delete(task);
        this.wake?.();
        this.wake = undefined;
      });
    this.running.add(task);
  }

  /** Report a row; a report that cannot be written stops the run (the ledger still records). */
  private add(row: ReportRow): void {
    try {
      this.o.add(row);
    } catch (err) {
      this.recorder.fail(messageOf(err));
    }
  }

  /** Report a row that was to be sent (progress counts only those). */
  private finish(row: ReportRow): void {
    this.add(row);
    const p = this.progress;
    p.done++;
    if (row.status === 'sent' || row.status === 'failed' || row.status === 'unknown' || row.status === 'skipped') p[row.status]++;
    try {
      this.o.onProgress?.({ ...p });
    } catch (err) {
      this.stop(messageOf(err)); // not expected; the row is reported already
    }
  }

  private notAttempted(p: PlannedRow, why = this.stopReason): void {
    this.finish(reportRow(p, 'not_attempted', { error: why ? `not attempted: ${why}` : 'not attempted' }));
  }

  /** A row the ledger settled before the pass; another run may have changed the record since: then it is left alone. */
  private settled(planned: PlannedRow): void {
    let rec: LedgerRecord | undefined;
    try {
      rec = this.o.ledger.get(planned.letterKey!);
    } catch (err) {
      this.recorder.fail(ledgerMessage(err));
      this.notAttempted(planned);
      return;
    }
    const { row } = planned;
    const earlier = this.o.earlier?.get(row);
    const verdict = ledgerVerdict(planned, rec, this.o.resendUnknown === true, this.o.changed?.get(row), earlier, this.o.notes?.get(row));
    this.add(verdict ?? reportRow(planned, 'not_attempted', { error: 'not attempted: the ledger changed during the run; run again' }));
  }

  /**
   * Claim and send inside a concurrency slot; record and report after the slot is free. The outcome's
   * ledger write waits up to 20 ms for company (the next claims): holding the slot meanwhile would
   * keep those claims from coming and add that wait to every letter.
   */
  private async letter(limit: LimitFunction, planned: PlannedRow, template: LetterTemplate, content: string): Promise<void> {
    const result = await limit(() => {
      if (!this.stopped) return this.claimAndSend(planned, template, content);
      this.notAttempted(planned);
      return undefined;
    });
    if (result) await this.settle(planned, result, content);
  }

  /** Claim the letter durably in the ledger, then send it. Undefined when nothing was sent. */
  private async claimAndSend(planned: PlannedRow, { name: template, fieldsSha256 }: LetterTemplate, content: string): Promise<LetterResult | undefined> {
    const { o } = this;
    const letterKey = planned.letterKey!;
    const approval = o.approval && { approvalId: o.approval.id, approver: o.approval.approver };
    let claim: Awaited<ReturnType<SenderOptions['ledger']['claim']>>;
    try {
      claim = await o.ledger.claim(
        { letterKey, keys: planned.keys, template, sourceFile: resolvePath(o.source.file), row: planned.row, ...approval, ...(fieldsSha256 !== undefined && { fieldsSha256 }) },
        { resendUnknown: o.resendUnknown, supersede: this.resentFrom(planned) },
      );
    } catch (err) {
      this.recorder.fail(ledgerMessage(err)); // nothing was sent
      this.notAttempted(planned);
      return undefined;
    }
    if (!claim.claimed) {
      // Another run claimed it since the lookup (a watcher and a manual run at once).
      const ex = claim.existing;
      const what = ex.letterKey === letterKey ? 'claimed by another run' : "a letter of its template to these keys, under other merge fields, was claimed by another run since this one began (its template's fields were edited meanwhile): not sent; send it with --resend-changed if it is still wanted";
      const status = ex.letterKey !== letterKey || ex.status === 'sent' ? 'skipped' : 'unknown';
      this.finish(reportRow(planned, status, { error: `${what} (ledger: ${ex.status}, run ${ex.runId})` }));
      return undefined;
    }
    // An outcome recorded while this claim was committing may have failed and stopped the run.
    await this.recorder.firstTriesSettled();
    if (this.stopped) return { status: 'aborted', attempts: 0 };
    this.progress.inFlight++;
    let result: LetterResult;
    try {
      const letter = { ...planned.keys, content, ...(o.approval && { approvalId: o.approval.id }) };
      result = await sendWithRetry(o.sending!.client, o.sending!.tokens, letter, {
        signal: this.stopper.signal,
        baseDelayMs: o.retryBaseDelayMs,
        beforeAttempt: this.limiter ? (signal) => this.limiter!.take(signal) : undefined,
      });
    } catch (err) {
      // Not expected (sendWithRetry classifies every failure): whether anything left is not known.
      result = { status: 'unknown', attempts: 1, error: messageOf(err) };
    } finally {
      this.progress.inFlight--;
    }
    this.judge(result);
    return result;
  }

  /** Decide whether to stop before the slot frees up, so no further letter starts after a stop. */
  private judge(result: LetterResult): void {
    if (result.status !== 'aborted') this.began = true;
    if (result.status === 'sent') this.badInARow = 0;
    else if (result.status === 'fatal') {
      this.authFailure = result.httpStatus === 403 ? 'forbidden' : 'unauthorized';
      this.stop(result.error ?? 'Canvas refused the credentials');
    } else if ((result.status === 'failed' || result.status === 'unknown') && ++this.badInARow >= CIRCUIT_BREAKER_THRESHOLD) {
      this.stop(`circuit breaker: ${CIRCUIT_BREAKER_THRESHOLD} letters in a row ended failed or unknown`);
    }
  }

  private decisionOf(planned: PlannedRow): Decision | 0 {
    return this.o.decisions[planned.row] as Decision | 0;
  }

  /** For a row sent again under its own key with --resend-changed: the content sha256 of the letter it supersedes. */
  private resentFrom(planned: PlannedRow): string | undefined {
    if (this.o.decisions[planned.row] !== Decision.Resend || this.o.earlier?.has(planned.row)) return undefined;
    return this.o.changed?.get(planned.row);
  }

  /**
   * Record the outcome durably (retrying a failing ledger for a while) and report the row. A sent
   * letter is recorded with its content's sha256 and the run's render date (never the content).
   */
  private async settle(planned: PlannedRow, result: LetterResult, content: string): Promise<void> {
    const letterKey = planned.letterKey!;
    const resent = this.decisionOf(planned) === Decision.Resend;
    const http = { ...(result.httpStatus ? { httpStatus: result.httpStatus } : {}), attempts: result.attempts };
    const record = (req: FinishRequest, outcome: string) =>
      this.recorder.ledger(() => this.o.ledger.finish(letterKey, req), { row: planned.row, letterKey, outcome });
    switch (result.status) {
      case 'sent': {
        const outcome = result.letterId ? `sent, Canvas letter id ${result.letterId}` : 'sent (Canvas gave no letter id)';
        const sentLetter = { contentSha256: contentSha256(content), renderDate: this.o.source.renderDate };
        const ok = await record({ status: 'sent', httpStatus: result.httpStatus, letterId: result.letterId, attempts: result.attempts, ...sentLetter }, outcome);
        const settleNote = `Canvas created it${result.letterId ? ` (letter id ${result.letterId})` : ''}: never send it again with --resend-unknown`;
        const error = withNote(resent ? RESENT : undefined, ok ? undefined : unrecordedNote(settleNote));
        this.finish(reportRow(planned, 'sent', { ...http, ...(result.letterId ? { letterId: result.letterId } : {}), ...(error !== undefined && { error }) }));
        return;
      }
      case 'failed':
      case 'unknown': {
        const ok = await record({ status: result.status, httpStatus: result.httpStatus, attempts: result.attempts }, result.status);
        const note = ok ? undefined : unrecordedNote('check the chart, then record what you found with canvas-letters ledger resolve');
        const kept = resent && result.status === 'failed' && ok ? RESEND_FAILED : undefined;
        this.finish(reportRow(planned, result.status, { ...http, error: withNote(withNote(result.error, kept), note) }));
        return;
      }
      case 'fatal': {
        // 403, a second 401 or refused credentials: nothing was created; a later run may try again.
        const ok = await record({ status: 'failed', httpStatus: result.httpStatus, attempts: result.attempts }, 'not created');
        const note = ok ? undefined : unrecordedNote('nothing was created, so --resend-unknown may send it');
        this.finish(reportRow(planned, result.httpStatus === 403 ? 'failed' : 'not_attempted', { ...http, error: withNote(result.error, note) }));
        return;
      }
      case 'aborted': {
        // Nothing was created: a later run tries again.
        const ok = await this.recorder.ledger(() => this.o.ledger.release(letterKey), { row: planned.row, letterKey, outcome: 'not sent' });
        if (ok) this.notAttempted(planned);
        else this.notAttempted(planned, `${this.stopReason ?? 'stopped'}; ${unrecordedNote('nothing was created, so --resend-unknown may send it')}`);
        return;
      }
    }
  }
}

/** A row sent again with --resend-changed (its report `error`, though it was sent). */
const RESENT = 'sent again as a new letter (--resend-changed): it supersedes the one sent earlier, whose record the ledger keeps';
/** A resend that created nothing: the ledger holds the earlier letter's record again. */
const RESEND_FAILED = 'the letter sent earlier stays recorded as sent';

function isToSend(decision: Decision | 0): boolean {
  return decision === Decision.Send || decision === Decision.Resend;
}

function unrecordedNote(settle: string): string {
  return `not recorded in the ledger (the next run reports it unknown): ${settle}`;
}

function withNote(error: string | undefined, note: string | undefined): string | undefined {
  return note === undefined ? error : error ? `${error}; ${note}` : note;
}
