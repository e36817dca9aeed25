/**
 * The send loop: streams the ready rows a second time and sends each letter with at most
 * `concurrency` requests in flight and at most `rate` started per second. For every letter
 * the pending record is committed to the ledger before its request leaves, and its outcome
 * after the answer. It stops starting letters on interrupt, on 403 or a second 401, and when
 * 10 letters in a row end failed or unknown (circuit breaker); rows never started are
 * reported `not_attempted`.
 */
import pLimit from 'p-limit';
import { readyLetters, reportRow } from './batch.js';
import { sendWithRetry, type CanvasClient, type SendResult, type TokenSource } from './canvas/index.js';
import type { FinishRequest, Ledger } from './ledger.js';
import { RateLimiter } from './ratelimit.js';
import type { ReportRow } from './types.js';
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

export interface SenderOptions {
  plan: Plan;
  /** Row numbers to send. */
  toSend: ReadonlySet<number>;
  ledger: Ledger;
  client: CanvasClient;
  tokens: TokenSource;
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

  const limiter = o.rate ? new RateLimiter(o.rate) : undefined;
  const reported = new Set<number>();
  const progress: SendProgress = { total: o.toSend.size, done: 0, inFlight: 0, sent: 0, failed: 0, unknown: 0, skipped: 0 };
  let badInARow = 0;
  const finish = (row: ReportRow) => {
    reported.add(row.row);
    o.add(row);
    progress.done++;
    if (row.status === 'sent' || row.status === 'failed' || row.status === 'unknown' || row.status === 'skipped') progress[row.status]++;
    o.onProgress?.({ ...progress });
  };

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
      return undefined; // reported not_attempted at the end
    }
    progress.inFlight++;
    let result: SendResult;
    try {
      result = await sendWithRetry(o.client, o.tokens, { ...planned.keys, content }, {
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
        await o.ledger.release(letterKey);
        return; // nothing was created; reported not_attempted at the end
    }
  }

  const limit = pLimit(o.concurrency);
  const running = new Set<Promise<void>>();
  try {
    for await (const letter of readyLetters(o.plan)) {
      if (stopper.signal.aborted) break;
      if (!o.toSend.has(letter.planned.row)) continue;
      // Backpressure: never queue more than one extra letter per slot (flat memory).
      while (running.size >= o.concurrency * 2) await Promise.race(running);
      if (stopper.signal.aborted) break;
      // Rendered before a slot frees up, so a free slot goes straight to the ledger and the wire.
      const { planned, template, data } = letter;
      const content = template.renderLetter(data);
      const task: Promise<void> = limit(() => (stopper.signal.aborted ? undefined : claimAndSend(planned, template.name, content)))
        .then((result) => result && settle(planned, result))
        .catch((err: unknown) => stop(`ledger: ${(err as Error).message}`))
        .finally(() => running.delete(task));
      running.add(task);
    }
  } catch (err) {
    stop((err as Error).message); // the file changed under us: stop starting letters
  } finally {
    await Promise.all(running);
    o.signal?.removeEventListener('abort', onInterrupt);
  }

  const why = stopReason ? `not attempted: ${stopReason}` : 'not attempted';
  for (const p of o.plan.rows) {
    if (o.toSend.has(p.row) && !reported.has(p.row)) o.add(reportRow(p, 'not_attempted', { error: why }));
  }
  return { interrupted: o.signal?.aborted === true, ...(authFailure ? { authFailure } : {}), ...(stopReason ? { stopReason } : {}) };
}
