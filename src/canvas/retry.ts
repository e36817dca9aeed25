/**
 * The retry policy for one letter. Only outcomes that prove nothing was created are sent again
 * (connection refused, DNS, connect timeouts, 429, 503), with full-jitter exponential backoff or
 * the server's Retry-After; a 401 renews the token once. Anything that may have created the
 * letter (5xx other than 503, timeout or reset after sending) is `unknown` and never resent.
 */
import { AuthError, TokenUnavailableError, type TokenSource } from './auth.js';
import type { CanvasClient, LetterRequest } from './letters.js';

export interface SendResult {
  /**
   * sent: created. failed: refused, or every attempt failed before anything was created.
   * unknown: may have been created (check the chart; never resend automatically).
   * fatal: 403, a second 401, or credentials refused: stop the run; nothing was created.
   * aborted: the signal fired before a request left; nothing was created.
   */
  status: 'sent' | 'failed' | 'unknown' | 'fatal' | 'aborted';
  httpStatus?: number;
  letterId?: string;
  /** Tries made, including a failed token request and the retry after a 401. */
  attempts: number;
  /** Why, for every status but `sent`. Never holds a secret, letter content or patient key. */
  error?: string;
}

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface SendOptions {
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Stops further attempts and cuts a backoff short. A request already in flight is left to finish. */
  signal?: AbortSignal;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (info: RetryInfo) => void;
  /** Awaited before each letter request (e.g. a rate limiter); rejecting (on abort) ends as `aborted`. */
  beforeAttempt?: (signal?: AbortSignal) => Promise<void>;
}

const UNKNOWN_HINT = 'the letter may have been created: check the patient chart in Canvas before sending it again';

/** Wait `ms`, ending early (without error) when the signal fires. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Full-jitter exponential backoff: random() * min(maxDelay, base * 2^(attempt-1)). */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  return Math.round(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
}

/**
 * Send one letter under the retry policy. Never throws for HTTP, network or credential
 * problems: an AuthError from the token source becomes `fatal` with its message. The signal
 * is checked after every wait that can precede a request (token, renewal, `beforeAttempt`,
 * backoff), so no request starts once it fired.
 */
export async function sendWithRetry(client: CanvasClient, tokens: TokenSource, letter: LetterRequest, opts: SendOptions = {}): Promise<SendResult> {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? abortableSleep;
  const { signal } = opts;

  let attempts = 0;
  let unauthorized = 0;
  let last: { reason: string; httpStatus?: number } = { reason: 'not attempted' };
  const aborted = (): SendResult => ({ status: 'aborted', attempts, httpStatus: last.httpStatus, error: attempts ? `interrupted before retrying (last: ${last.reason})` : 'interrupted before sending' });
  const fatal = (error: AuthError): SendResult => ({ status: 'fatal', attempts, httpStatus: last.httpStatus, error: error.message });

  while (attempts < maxAttempts) {
    if (signal?.aborted) return aborted();
    attempts++;
    let token: string;
    let retryAfterMs: number | undefined;
    try {
      token = await tokens.token();
    } catch (error) {
      if (error instanceof AuthError) return fatal(error);
      if (!(error instanceof TokenUnavailableError)) throw error;
      last = { reason: error.message };
      if (!(await backoff(error.retryAfterMs))) return aborted();
      continue;
    }
    // The token may have taken a while (a renewal in flight): no request starts after the signal.
    if (signal?.aborted) return aborted();

    if (opts.beforeAttempt) {
      try {
        await opts.beforeAttempt(signal);
      } catch {
        return aborted();
      }
      if (signal?.aborted) return aborted();
    }
    const out = await client.createLetter(letter, { token });
    switch (out.kind) {
      case 'created':
        return { status: 'sent', httpStatus: out.httpStatus, letterId: out.letterId, attempts };
      case 'rejected':
        return { status: 'failed', httpStatus: out.httpStatus, attempts, error: out.message };
      case 'forbidden':
        return { status: 'fatal', httpStatus: 403, attempts, error: `Canvas refused the request (HTTP 403): ${out.message}: check that the API credentials may create letters` };
      case 'unknown':
        return { status: 'unknown', httpStatus: out.httpStatus, attempts, error: `${out.reason}: ${UNKNOWN_HINT}` };
      case 'aborted':
        return aborted();
      case 'unauthorized': {
        last = { reason: 'HTTP 401 Unauthorized', httpStatus: 401 };
        if (++unauthorized >= 2) {
          return { status: 'fatal', httpStatus: 401, attempts, error: 'Canvas refused the access token again after renewing it (HTTP 401): check the API credentials' };
        }
        if (signal?.aborted) return aborted(); // a renewal is a request too: none starts after the signal
        try {
          await tokens.renew(token);
        } catch (error) {
          if (error instanceof AuthError) return fatal(error);
          if (!(error instanceof TokenUnavailableError)) throw error;
          last = { reason: error.message, httpStatus: 401 };
          if (!(await backoff(error.retryAfterMs))) return aborted();
        }
        continue;
      }
      case 'retryable':
        last = { reason: out.reason, httpStatus: out.httpStatus };
        retryAfterMs = out.retryAfterMs;
        if (!(await backoff(retryAfterMs))) return aborted();
        continue;
    }
  }
  return { status: 'failed', httpStatus: last.httpStatus, attempts, error: `${last.reason} (gave up after ${attempts} attempts; nothing was created)` };

  /** Wait before the next attempt (none after the last). False when the signal fired. */
  async function backoff(retryAfterMs: number | undefined): Promise<boolean> {
    if (attempts >= maxAttempts) return true;
    const delayMs = retryAfterMs ?? backoffDelay(attempts, baseDelayMs, maxDelayMs, random);
    opts.onRetry?.({ attempt: attempts, delayMs, reason: last.reason });
    try {
      await sleep(delayMs, signal);
    } catch {
      // an injected sleep may reject on abort: same as resolving early
    }
    return !signal?.aborted;
  }
}
