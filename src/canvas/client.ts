/**
 * The Canvas letter client: `createLetter` makes exactly one HTTP attempt over the shared
 * keep-alive client and classifies what happened (created, retryable, unauthorized, forbidden,
 * rejected, unknown). Outcomes are built from status codes and error codes, and from server
 * messages only once every secret of the run has been redacted from them (then shortened).
 */
import { STATUS_CODES } from 'node:http';
import { CanvasLettersError } from '../errors.js';
import { Secrets } from '../redact.js';
import type { CanvasConfig } from './config.js';
import type { TokenSource } from './auth.js';
import { HttpFailure, type HttpClient } from './http.js';

export interface LetterRequest {
  patientKey: string;
  providerKey: string;
  practiceLocationKey: string;
  content: string;
}

export type AttemptOutcome =
  | { kind: 'created'; httpStatus: number; letterId?: string }
  /** Nothing was created; sending again is safe. */
  | { kind: 'retryable'; httpStatus?: number; reason: string; retryAfterMs?: number }
  | { kind: 'unauthorized'; httpStatus: 401 }
  | { kind: 'forbidden'; httpStatus: 403; message: string }
  /** Refused (other 4xx, 3xx, TLS certificate problem): nothing was created, sending again will not help. */
  | { kind: 'rejected'; httpStatus?: number; message: string }
  /** The letter may have been created: never send it again automatically. */
  | { kind: 'unknown'; httpStatus?: number; reason: string }
  /** The signal fired before anything was written: nothing was created. */
  | { kind: 'aborted'; reason: string };

/** The token endpoint could not be reached or answered 429/5xx: nothing was sent, try again later. */
export class TokenUnavailableError extends CanvasLettersError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export const RETRY_AFTER_CAP_MS = 60_000;

/** Retry-After (seconds or HTTP date) in ms, capped at 60 s; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, Math.ceil(ms)));
}

/** What a failed request (no response) tells: whether anything may have been written, and why. */
export interface NetworkFailure {
  sent: boolean;
  reason: string;
  /** TLS certificate/handshake configuration problem: sending again will not help. */
  tls: boolean;
  aborted: boolean;
  /** Status, when a response head arrived before the failure. */
  httpStatus?: number;
}

const DNS = /^(ENOTFOUND|EAI_)/;
const TLS = /CERT|^ERR_TLS_|^ERR_SSL_|^ERR_OSSL_/;

/**
 * What a failed attempt tells. Anything but an HttpFailure is taken as possibly sent: when in
 * doubt, a letter is never sent again automatically.
 */
export function inspectFailure(error: unknown): NetworkFailure {
  const f = error instanceof HttpFailure ? error : new HttpFailure('', true);
  const { code, mayHaveReached: sent, httpStatus: status } = f;
  const tls = !sent && TLS.test(code);
  const aborted = code === 'ERR_ABORTED';
  let reason: string;
  if (code === 'ECONNREFUSED') reason = 'connection refused';
  else if (DNS.test(code)) reason = 'host name lookup failed';
  else if (tls) reason = `TLS problem (${code})`;
  else if (aborted) reason = sent ? 'aborted while waiting for the answer' : 'aborted before sending';
  else if (code === 'ETIMEDOUT') reason = sent ? 'no answer within the timeout' : 'timed out connecting';
  else if (code === 'ECONNRESET') reason = sent ? 'connection reset before the answer' : 'connection reset while connecting';
  else if (code === 'EPIPE') reason = 'connection closed while sending';
  else if (code.startsWith('HPE_')) reason = 'malformed HTTP answer';
  else reason = code ? `network error (${code})` : 'network error';
  return { sent, reason, tls, aborted, httpStatus: status };
}

/** Longest server message kept (characters), after redaction. */
export const MESSAGE_LIMIT = 300;

/**
 * A text from elsewhere made fit for a report: secrets redacted, then one line, then shortened.
 * Redacting again after the whitespace is collapsed catches a secret that held line breaks.
 */
export function tidy(text: string, secrets: Secrets = new Secrets(), extra: readonly string[] = []): string {
  const clean = secrets.redact(text, extra);
  // eslint-disable-next-line no-control-regex
  const one = secrets.redact(clean.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim(), extra);
  return one.length > MESSAGE_LIMIT ? `${one.slice(0, MESSAGE_LIMIT - 1)}…` : one;
}

function parseJson(body: string): unknown {
  const t = body.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The server's explanation of an error: FHIR OperationOutcome issue[].details.text (joined "; "),
 * else issue[].diagnostics, else a `detail`/`message`/`error` string, else the HTTP status text
 * (reason phrase). Secrets (and `extra` values) are redacted before the text is shortened.
 */
export function serverMessage(body: string, status: number, statusMessage?: string, secrets?: Secrets, extra: readonly string[] = []): string {
  const json = parseJson(body);
  let text = '';
  if (isObject(json)) {
    if (Array.isArray(json.issue)) {
      const issues = json.issue.filter(isObject);
      const pick = (f: (i: Record<string, unknown>) => unknown) =>
        issues.map(f).filter((s): s is string => typeof s === 'string' && s.trim() !== '').join('; ');
      text = pick((i) => (isObject(i.details) ? i.details.text : undefined)) || pick((i) => i.diagnostics);
    }
    if (!text) text = [json.detail, json.message, json.error].find((s): s is string => typeof s === 'string' && s.trim() !== '') ?? '';
  }
  text = tidy(text, secrets, extra);
  return text || tidy(statusMessage ?? '', secrets, extra) || STATUS_CODES[status] || `HTTP ${status}`;
}

/** The letter's identifier in a 2xx body: letterKey, key or id, at the top level or under `data`. */
export function extractLetterId(body: string): string | undefined {
  const json = parseJson(body);
  if (!isObject(json)) return undefined;
  for (const holder of [json, json.data]) {
    if (!isObject(holder)) continue;
    for (const field of ['letterKey', 'key', 'id']) {
      const v = holder[field];
      if (typeof v === 'string' && v.trim() !== '' && v.length <= 256) return v.trim();
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    }
  }
  return undefined;
}

export const REDIRECT_HINT = 'check CANVAS_BASE_URL: it must be the instance address itself (https://<instance>.canvasmedical.com)';

export class CanvasClient {
  readonly http: HttpClient;
  private readonly tokens: TokenSource;
  private readonly letterUrl: URL;

  constructor(opts: { http: HttpClient; config: CanvasConfig; tokens: TokenSource }) {
    this.http = opts.http;
    this.tokens = opts.tokens;
    this.letterUrl = new URL('core/api/letter/v1/Letter', opts.config.baseUrl);
  }

  /**
   * Exactly one HTTP attempt. `token` is the bearer token to use (default: tokens.token());
   * pass it to know which token a 401 refused. Never throws for HTTP or network problems;
   * throws AuthError when no token can be had because the credentials are refused.
   * The signal aborts the attempt: before anything was written → `aborted`, after → `unknown`.
   */
  async createLetter(letter: LetterRequest, opts: { signal?: AbortSignal; token?: string } = {}): Promise<AttemptOutcome> {
    if (opts.signal?.aborted) return { kind: 'aborted', reason: 'aborted before sending' };
    let token = opts.token;
    if (token === undefined) {
      try {
        token = await this.tokens.token();
      } catch (error) {
        if (error instanceof TokenUnavailableError) return { kind: 'retryable', reason: error.message, retryAfterMs: error.retryAfterMs };
        throw error;
      }
    }
    const body = JSON.stringify({
      patientKey: letter.patientKey,
      providerKey: letter.providerKey,
      practiceLocationKey: letter.practiceLocationKey,
      content: letter.content,
    });
    let status: number;
    let text: string;
    let statusMessage: string | undefined;
    let retryAfter: string | undefined;
    try {
      const res = await this.http.post(this.letterUrl, {
        body,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        signal: opts.signal,
      });
      status = res.status;
      text = res.body;
      statusMessage = res.statusMessage;
      retryAfter = res.headers['retry-after'];
    } catch (error) {
      const f = inspectFailure(error);
      if (f.httpStatus !== undefined) return classify(f.httpStatus, '', undefined, undefined, this.tokens.secrets);
      if (f.tls) return { kind: 'rejected', message: `${f.reason}: check CANVAS_BASE_URL and this machine's trusted certificates` };
      if (f.sent) return { kind: 'unknown', reason: f.reason };
      if (f.aborted) return { kind: 'aborted', reason: f.reason };
      return { kind: 'retryable', reason: f.reason };
    }
    return classify(status, text, statusMessage, retryAfter, this.tokens.secrets);
  }

  /** Destroy the keep-alive sockets (also ends the token source's connections). */
  close(): void {
    this.http.close();
  }
}

function classify(status: number, body: string, statusMessage: string | undefined, retryAfter: string | undefined, secrets: Secrets): AttemptOutcome {
  const message = () => serverMessage(body, status, statusMessage, secrets);
  if (status >= 200 && status < 300) return { kind: 'created', httpStatus: status, letterId: extractLetterId(body) };
  if (status >= 300 && status < 400) return { kind: 'rejected', httpStatus: status, message: `redirect (HTTP ${status}) not followed: ${REDIRECT_HINT}` };
  if (status === 401) return { kind: 'unauthorized', httpStatus: 401 };
  if (status === 403) return { kind: 'forbidden', httpStatus: 403, message: message() };
  if (status === 429 || status === 503) {
    return { kind: 'retryable', httpStatus: status, reason: `HTTP ${status} ${STATUS_CODES[status]}`, retryAfterMs: parseRetryAfter(retryAfter) };
  }
  if (status >= 400 && status < 500) return { kind: 'rejected', httpStatus: status, message: message() };
  return { kind: 'unknown', httpStatus: status, reason: `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim() };
}
