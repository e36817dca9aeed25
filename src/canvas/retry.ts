/**
 * Retrying under a policy. `retry` is the one loop: a token for each try (refused credentials
 * are final; a token endpoint that is down is retried), one attempt with it, a 401 renews the
 * token once, and a retryable outcome waits a full-jitter exponential backoff (or the server's
 * Retry-After) before the next try. Each caller passes its own table of what an outcome means
 * and what is returned when it ends: letters (`sendWithRetry`: only outcomes that prove nothing
 * was created are sent again, anything that may have created the letter is `unknown`), FHIR
 * reads (lookup/fhir.ts) and the first token of a run (send/index.ts).
 */
import { AuthError, TokenUnavailableError, type TokenSource } from './auth.js';
import type { CanvasClient, LetterRequest } from './letters.js';

export interface LetterResult {
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

/** How often and how long to wait: shared by every policy. */
export interface RetryTiming {
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Stops further attempts and cuts a backoff short. A request already in flight is left to finish. */
  signal?: AbortSignal;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (info: RetryInfo) => void;
}

export interface LetterRetryOptions extends RetryTiming {
  /** Awaited before each letter request (e.g. a rate limiter); rejecting (on abort) ends as `aborted`. */
  beforeAttempt?: (signal?: AbortSignal) => Promise<void>;
}

/** What one attempt came to, as the loop sees it. */
export type Step<T> =
  /** Final: the loop returns `value`. */
  | { kind: 'done'; value: T }
  /** Try again after a backoff (or `retryAfterMs`), unless this was the last attempt. */
  | { kind: 'retry'; reason: string; httpStatus?: number; retryAfterMs?: number; network?: boolean }
  /** HTTP 401: renew the token once and try again; a second one is final (`refusedAgain`). */
  | { kind: 'unauthorized' }
  /** The signal fired (or a wait before the request was abandoned): `aborted`. */
  | { kind: 'aborted' };

/** The last failure before the loop gave up or was stopped. */
export interface LastFailure {
  reason: string;
  httpStatus?: number;
  /** The last try got no HTTP answer (network) or no token (token). */
  unreachable?: 'network' | 'token';
}

/** A caller's table: one attempt with a token, and what each way of ending returns (or throws). */
export interface RetryPolicy<T> extends RetryTiming {
  /** One attempt with `token`; `attempt` counts from 1 and includes failed token requests. */
  attempt: (token: string, attempt: number) => Promise<Step<T>>;
  /** The signal fired before a request started. */
  aborted: (attempts: number, last: LastFailure) => T;
  /** The token source refused the credentials (AuthError). */
  refused: (error: AuthError, attempts: number, last: LastFailure) => T;
  /** A second 401, after renewing the token. */
  refusedAgain: (attempts: number) => T;
  /** Every attempt failed in a retryable way. */
  gaveUp: (attempts: number, last: LastFailure) => T;
}

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
 * Run `policy.attempt` under the retry loop (defaults: 5 attempts, 500 ms base, 30 s cap).
 * The signal is checked before every token request and after every wait that can precede a
 * request (token, renewal, backoff), so no request starts once it fired. Errors other than
 * AuthError and TokenUnavailableError from the token source are thrown.
 */
export async function retry<T>(tokens: TokenSource, policy: RetryPolicy<T>): Promise<T> {
  const maxAttempts = Math.max(1, policy.maxAttempts ?? 5);
  const { signal } = policy;
  let attempts = 0;
  let unauthorized = 0;
  let last: LastFailure = { reason: 'not attempted' };

  /** No token: refused credentials end the loop (returned); a token endpoint that is down is retried (undefined). */
  const tokenFailed = async (error: unknown, httpStatus?: number): Promise<{ end: T } | undefined> => {
    if (error instanceof AuthError) return { end: policy.refused(error, attempts, last) };
    if (!(error instanceof TokenUnavailableError)) throw error;
    last = { reason: error.message, httpStatus, unreachable: 'token' };
    return (await backoff(error.retryAfterMs)) ? undefined : { end: policy.aborted(attempts, last) };
  };

  while (attempts < maxAttempts) {
    if (signal?.aborted) return policy.aborted(attempts, last);
    attempts++;
    let token: string;
    try {
      token = await tokens.token();
    } catch (error) {
      const ended = await tokenFailed(error);
      if (ended) return ended.end;
      continue;
    }
    // The token may have taken a while (a renewal in flight): no request starts after the signal.
    if (signal?.aborted) return policy.aborted(attempts, last);
    const step = await policy.attempt(token, attempts);
    switch (step.kind) {
      case 'done':
        return step.value;
      case 'aborted':
        return policy.aborted(attempts, last);
      case 'unauthorized': {
        last = { reason: 'HTTP 401 Unauthorized', httpStatus: 401 };
        if (++unauthorized >= 2) return policy.refusedAgain(attempts);
        if (signal?.aborted) return policy.aborted(attempts, last); // a renewal is a request too: none starts after the signal
        try {
          await tokens.renew(token);
        } catch (error) {
          const ended = await tokenFailed(error, 401);
          if (ended) return ended.end;
        }
        continue;
      }
      case 'retry':
        last = { reason: step.reason, httpStatus: step.httpStatus, unreachable: step.network ? 'network' : undefined };
        if (!(await backoff(step.retryAfterMs))) return policy.aborted(attempts, last);
        continue;
    }
  }
  return policy.gaveUp(attempts, last);

  /** Wait before the next attempt (none after the last). False when the signal fired. */
  async function backoff(retryAfterMs: number | undefined): Promise<boolean> {
    if (attempts >= maxAttempts) return true;
    const delayMs = retryAfterMs ?? backoffDelay(attempts, policy.baseDelayMs ?? 500, policy.maxDelayMs ?? 30_000, policy.random ?? Math.random);
    policy.onRetry?.({ attempt: attempts, delayMs, reason: last.reason });
    try {
      await (policy.sleep ?? abortableSleep)(delayMs, signal);
    } catch {
      // an injected sleep may reject on abort: same as resolving early
    }
    return !signal?.aborted;
  }
}

const UNKNOWN_HINT = 'the letter may have been created: check the patient chart in Canvas before sending it again';

/**
 * Send one letter under the letters' table: created → sent; refused → failed; 403 → fatal;
 * anything that may have created it → unknown (never resent); 429, 503 and failures before
 * anything was sent → retried. Never throws for HTTP, network or credential problems: an
 * AuthError from the token source becomes `fatal` with its message. `beforeAttempt` runs after
 * the token and before each request; no request starts once the signal fired.
 */
export async function sendWithRetry(client: CanvasClient, tokens: TokenSource, letter: LetterRequest, opts: LetterRetryOptions = {}): Promise<LetterResult> {
  const { signal } = opts;
  const attempt = async (token: string, attempts: number): Promise<Step<LetterResult>> => {
    if (opts.beforeAttempt) {
      try {
        await opts.beforeAttempt(signal);
      } catch {
        return { kind: 'aborted' };
      }
      if (signal?.aborted) return { kind: 'aborted' };
    }
    const out = await client.createLetter(letter, token);
    const done = (value: Omit<LetterResult, 'attempts'>): Step<LetterResult> => ({ kind: 'done', value: { ...value, attempts } });
    switch (out.kind) {
      case 'created':
        return done({ status: 'sent', httpStatus: out.httpStatus, letterId: out.letterId });
      case 'rejected':
        return done({ status: 'failed', httpStatus: out.httpStatus, error: out.message });
      case 'forbidden':
        return done({ status: 'fatal', httpStatus: 403, error: `Canvas refused the request (HTTP 403): ${out.message}: check that the API credentials may create letters` });
      case 'unknown':
        return done({ status: 'unknown', httpStatus: out.httpStatus, error: `${out.reason}: ${UNKNOWN_HINT}` });
      case 'aborted':
        return { kind: 'aborted' };
      case 'unauthorized':
        return { kind: 'unauthorized' };
      case 'retryable':
        return { kind: 'retry', reason: out.reason, httpStatus: out.httpStatus, retryAfterMs: out.retryAfterMs };
    }
  };
  return retry<LetterResult>(tokens, {
    ...opts,
    attempt,
    aborted: (n, last) => ({ status: 'aborted', attempts: n, httpStatus: last.httpStatus, error: n ? `interrupted before retrying (last: ${last.reason})` : 'interrupted before sending' }),
    refused: (error, n, last) => ({ status: 'fatal', attempts: n, httpStatus: last.httpStatus, error: error.message }),
    refusedAgain: (n) => ({ status: 'fatal', httpStatus: 401, attempts: n, error: 'Canvas refused the access token again after renewing it (HTTP 401): check the API credentials' }),
    gaveUp: (n, last) => ({ status: 'failed', httpStatus: last.httpStatus, attempts: n, error: `${last.reason} (gave up after ${n} attempts; nothing was created)` }),
  });
}
