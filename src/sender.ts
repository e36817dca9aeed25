/**
 * The send pass: streams the file a second time and accounts for every row, in order. Rows
 * validation or the ledger settled are reported as they come; each letter to send goes out
 * with at most `concurrency` requests in flight and at most `rate` started per second. For
 * every letter the pending record is committed to the ledger before its request leaves, and
 * its outcome after the answer. It stops starting letters on interrupt, on 403 or a second
 * 401, and when 10 letters in a row end failed or unknown (circuit breaker); the rows after
 * that are reported `not_attempted`.
 */
import pLimit from 'p-limit';
import { planRows, reportRow, unreadRow } from './batch.js';
import { sendWithRetry, type CanvasClient, type SendResult, type TokenSource } from './canvas/index.js';
import type { FinishRequest, Ledger, LedgerRecord } from './ledger.js';
import { RateLimiter } from './ratelimit.js';
import type { ReportRow, RowStatus } from './types.js';
import type { Plan, PlannedRow } from './validate.js';

export const CIRCUIT_BREAKER_THRESHOLD = 10;

export interface SendProgress {
  total: number;
  done: number;
  inFlight: number;
  sent: number;
  failed: number;
  unknown: number;
  skipped: number;
}

/** What to do with a ready row, decided from the ledger before the pass. */
export enum Decision {
  Send = 1,
  AlreadySent = 2,
  Unknown = 3,
  OverLimit = 4,
}

export interface SenderOptions {
  plan: Plan;
  /** Per row number: the ledger's decision for ready rows (0 for the others). */
  decisions: Uint8Array;
  /** How many rows are to be sent. */
  toSend: number;
  ledger: Ledger;
  /** The client; absent when nothing may be sent (`notSending` says why). */
  sending?: { client: CanvasClient; tokens: TokenSource };
  /** Why letters to send are not sent in this run (not confirmed, credentials refused). */
  notSending?: string;
  /** The report row of a ready row the ledger settled (already sent, unknown). */
  verdict: (p: PlannedRow, rec: LedgerRecord | undefined) => ReportRow | undefined;
  limit?: number;
  add: (row: ReportRow) => void;
  concurrency: number;
  rate?: number;
  resendUnknown?: boolean;
  signal?: AbortSignal;
  retryBaseDelayMs?: number;
  onProgress?: (progress: SendProgress) => void;
}

export interface SenderOutcome {
  interrupted: boolean;
  /** The run stopped on a 403 (forbidden), or on a second 401 or refused credentials (unauthorized). */
  authFailure?: 'forbidden' | 'unauthorized';
  stopReason?: string;
}

export async function runSender(o: SenderOptions): Promise<SenderOutcome> {
  const stopper = new AbortController(); // cuts retry backoffs short once the run stops
  let stopReason: string | undefined;
  let authFailure: SenderOutcome['authFailure'];
  const stop = (reason: string) => {
    stopReason ??= reason;
    stopper.abort();
  };
  const onInterrupt = () => stop('interrupted');
  if (o.signal?.aborted) onInterrupt();
  o.signal?.addEventListener('abort', onInterrupt, { once: true });

  const { sending } = o;
  const limiter = o.rate ? new RateLimiter(o.rate) : undefined;
  const progress: SendProgress = { total: o.toSend, done: 0, inFlight: 0, sent: 0, failed: 0, unknown: 0, skipped: 0 };
  let badInARow = 0;
  /** Report a row that was to be sent (progress counts only those). */
  const finish = (row: ReportRow) => {
    o.add(row);
    progress.done++;
    if (row.status === 'sent' || row.status === 'failed' || row.status === 'unknown' || row.status === 'skipped') progress[row.status]++;
    o.onProgress?.({ ...progress });
  };
  const notAttempted = (p: PlannedRow, why = stopReason) => finish(reportRow(p, 'not_attempted', { error: why ? `not attempted: ${why}` : 'not attempted' }));

  /** Record an outcome; if the ledger cannot be written the run stops (the key stays pending → unknown later). */
  async function record(letterKey: string, result: FinishRequest): Promise<void> {
    try {
      await o.ledger.finish(letterKey, result);
    } catch (err) {
      stop(`ledger: ${(err as Error).message}`);
    }
  }

  /**
   * Inside a concurrency slot: claim the letter durably in the ledger, then send it.
   * Undefined when nothing was sent (another run holds it, or the run stopped meanwhile).
   */
  async function claimAndSend(planned: PlannedRow, template: string, content: string): Promise<SendResult | undefined> {
    const letterKey = planned.letterKey!;
    const claim = await o.ledger.claim(
      { letterKey, keys: planned.keys, template, sourceFile: o.plan.source.file, row: planned.row },
      { resendUnknown: o.resendUnknown },
    );
    if (!claim.claimed) {
      // Another run claimed it since the lookup (a watcher and a manual run at once).
      const ex = claim.existing;
      finish(reportRow(planned, ex.status === 'sent' ? 'skipped' : 'unknown', { error: `claimed by another run (ledger: ${ex.status}, run ${ex.runId})` }));
      return undefined;
    }
    if (stopper.signal.aborted) {
      await o.ledger.release(letterKey);
      notAttempted(planned);
      return undefined;
    }
    progress.inFlight++;
    let result: SendResult;
    try {
      result = await sendWithRetry(sending!.client, sending!.tokens, { ...planned.keys, content }, {
        signal: stopper.signal,
        baseDelayMs: o.retryBaseDelayMs,
        beforeAttempt: limiter ? (signal) => limiter.take(signal) : undefined,
      });
    } finally {
      progress.inFlight--;
    }
    // Decide whether to stop before the slot frees up, so no further letter starts after a stop.
    if (result.status === 'sent') badInARow = 0;
    else if (result.status === 'fatal') {
      authFailure = result.httpStatus === 403 ? 'forbidden' : 'unauthorized';
      stop(result.error ?? 'Canvas refused the credentials');
    } else if ((result.status === 'failed' || result.status === 'unknown') && ++badInARow >= CIRCUIT_BREAKER_THRESHOLD) {
      stop(`circuit breaker: ${CIRCUIT_BREAKER_THRESHOLD} letters in a row ended failed or unknown`);
    }
    return result;
  }

  /** Outside the slot: record the outcome durably and report the row. */
  async function settle(planned: PlannedRow, result: SendResult): Promise<void> {
    const letterKey = planned.letterKey!;
    const http = { ...(result.httpStatus ? { httpStatus: result.httpStatus } : {}), attempts: result.attempts };
    switch (result.status) {
      case 'sent':
        await record(letterKey, { status: 'sent', httpStatus: result.httpStatus, letterId: result.letterId, attempts: result.attempts });
        finish(reportRow(planned, 'sent', { ...http, ...(result.letterId ? { letterId: result.letterId } : {}) }));
        return;
      case 'failed':
      case 'unknown':
        await record(letterKey, { status: result.status, httpStatus: result.httpStatus, attempts: result.attempts });
        finish(reportRow(planned, result.status, { ...http, error: result.error }));
        return;
      case 'fatal':
        // 403, a second 401 or refused credentials: nothing was created; a later run may try again.
        await record(letterKey, { status: 'failed', httpStatus: result.httpStatus, attempts: result.attempts });
        finish(reportRow(planned, result.httpStatus === 403 ? 'failed' : 'not_attempted', { ...http, error: result.error }));
        return;
      case 'aborted':
        await o.ledger.release(letterKey); // nothing was created: a later run tries again
        notAttempted(planned);
        return;
    }
  }

  const limit = pLimit(o.concurrency);
  const running = new Set<Promise<void>>();
  /** Resolves the pass's wait for a free place in the queue (one waiter at most: the pass itself). */
  let wake: (() => void) | undefined;
  let lastRow = 0;
  try {
    for await (const { planned, letter } of planRows(o.plan)) {
      lastRow = planned.row;
      const decision = o.decisions[planned.row] as Decision | 0;
      if (!letter) o.add(reportRow(planned, planned.status as RowStatus));
      else if (decision === Decision.AlreadySent || decision === Decision.Unknown) {
        // Another run may have changed the record since the decision: then this run leaves the row alone.
        o.add(o.verdict(planned, o.ledger.get(planned.letterKey!)) ?? reportRow(planned, 'not_attempted', { error: 'not attempted: the ledger changed during the run; run again' }));
      }
      else if (decision === Decision.OverLimit) o.add(reportRow(planned, 'not_attempted', { error: `over --limit ${o.limit}` }));
      else if (!sending) notAttempted(planned, o.notSending);
      else if (stopper.signal.aborted) notAttempted(planned);
      else {
        // Backpressure: never queue more than one extra letter per slot (flat memory).
        while (running.size >= o.concurrency * 2) await new Promise<void>((resolve) => (wake = resolve));
        if (stopper.signal.aborted) {
          notAttempted(planned);
          continue;
        }
        // Rendered before a slot frees up, so a free slot goes straight to the ledger and the wire.
        const content = letter.template.renderLetter(letter.data);
        const task: Promise<void> = limit(() => (stopper.signal.aborted ? (notAttempted(planned), undefined) : claimAndSend(planned, letter.template.name, content)))
          .then((result) => result && settle(planned, result))
          .catch((err: unknown) => {
            stop(`ledger: ${(err as Error).message}`);
            notAttempted(planned);
          })
          .finally(() => {
            running.delete(task);
            wake?.();
            wake = undefined;
          });
        running.add(task);
      }
    }
  } catch (err) {
    // The file changed under us: stop, and account for the rows that can no longer be read.
    stop((err as Error).message);
    for (let row = lastRow + 1; row <= o.plan.rows; row++) o.add(unreadRow(row, `not attempted: ${stopReason}`));
  } finally {
    await Promise.all(running);
    o.signal?.removeEventListener('abort', onInterrupt);
  }
  return { interrupted: o.signal?.aborted === true, ...(authFailure ? { authFailure } : {}), ...(stopReason ? { stopReason } : {}) };
}
