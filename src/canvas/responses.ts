/**
 * Reading what a server answered, for letters, tokens and FHIR reads alike: Retry-After, what a
 * failed request tells, the server's message (secrets redacted, then shortened) and a letter id.
 */
import { STATUS_CODES } from 'node:http';
import { HttpFailure } from './http.js';
import { Secrets } from './redact.js';

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
