/**
 * Reading one FHIR resource (Patient, Practitioner, Location) from Canvas, with the retry policy
 * of an idempotent GET: 5xx, 429 (Retry-After honoured, ≤ 60 s), timeouts, resets, refused
 * connections and DNS failures are retried with full-jitter backoff, at most `maxAttempts` tries;
 * 404/410 is "not found" at once; a 401 renews the token once; a second 401, a 403 and refused
 * credentials are fatal (LookupError). The resource is mapped to merge fields here and dropped:
 * nothing else of it is kept, and nothing is logged. Messages never hold a key, a token or
 * patient data.
 */
import { AuthError, type TokenSource } from '../canvas/auth.js';
import { TokenUnavailableError } from '../canvas/auth.js';
import { inspectFailure, parseRetryAfter, serverMessage } from '../canvas/responses.js';
import { ENV_BASE_URL } from '../canvas/config.js';
import type { HttpClient } from '../canvas/http.js';
import { abortableSleep, backoffDelay } from '../canvas/retry.js';
import { CanvasLettersError } from '../errors.js';
import { ENV_FHIR_BASE_URL } from './base-url.js';
import { locationFields, patientFields, practitionerFields } from './map.js';

/**
 * The lookup cannot go on, so the run stops before anything is sent (exitCode 2): a second 401,
 * a 403, refused credentials, a TLS problem, or no read at all got through to the FHIR API.
 */
export class LookupError extends CanvasLettersError {}

export type ResourceType = 'Patient' | 'Practitioner' | 'Location';

export type ReadResult =
  | { kind: 'found'; fields: Record<string, string> }
  | { kind: 'not_found' }
  | { kind: 'error'; message: string };

export interface ReadOutcome {
  result: ReadResult;
  /** For an error: the last try got no HTTP answer (network) or no token (token). */
  unreachable?: 'network' | 'token';
  /** HTTP requests made for this read (retries included). */
  requests: number;
}

export interface ReaderOptions {
  http: HttpClient;
  tokens: TokenSource;
  fhirBase: URL;
  /** Per-try request timeout; default: the HTTP client's. */
  timeoutMs?: number;
  maxAttempts?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** Thrown by FhirReader.read when its signal fired: the read was abandoned. */
export class ReadCancelled extends Error {}

const MAPPERS: Record<ResourceType, (resource: unknown) => Record<string, string>> = {
  Patient: patientFields,
  Practitioner: practitionerFields,
  Location: locationFields,
};

const FIX_URL = `check ${ENV_FHIR_BASE_URL} (by default derived from ${ENV_BASE_URL})`;

type Try =
  | { kind: 'ok'; body: string }
  | { kind: 'not_found' }
  | { kind: 'unauthorized' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number; network: boolean }
  | { kind: 'error'; message: string };

export class FhirReader {
  private readonly o: Required<Omit<ReaderOptions, 'timeoutMs'>> & { timeoutMs?: number };

  constructor(opts: ReaderOptions) {
    this.o = {
      ...opts,
      maxAttempts: opts.maxAttempts ?? 5,
      retryBaseDelayMs: opts.retryBaseDelayMs ?? 500,
      retryMaxDelayMs: opts.retryMaxDelayMs ?? 30_000,
      sleep: opts.sleep ?? abortableSleep,
      random: opts.random ?? Math.random,
    };
  }

  /** GET {fhirBase}{type}/{id} under the retry policy. Throws LookupError (fatal) or ReadCancelled. */
  async read(type: ResourceType, id: string, signal?: AbortSignal): Promise<ReadOutcome> {
    const o = this.o;
    const maxAttempts = Math.max(1, o.maxAttempts);
    const url = new URL(`${o.fhirBase.href}${type}/${encodeURIComponent(id)}`);
    let attempts = 0;
    let requests = 0;
    let unauthorized = 0;
    let last: { reason: string; unreachable?: 'network' | 'token' } = { reason: 'not attempted' };
    const cancelled = () => new ReadCancelled('lookup cancelled');

    const backoff = async (retryAfterMs?: number): Promise<void> => {
      if (attempts >= maxAttempts) return;
      const ms = retryAfterMs ?? backoffDelay(attempts, o.retryBaseDelayMs, o.retryMaxDelayMs, o.random);
      try {
        await o.sleep(ms, signal);
      } catch {
        // an injected sleep may reject on abort
      }
      if (signal?.aborted) throw cancelled();
    };

    /** No token could be had: refused credentials are fatal; a token endpoint that is down is retried. */
    const tokenFailed = async (error: unknown): Promise<void> => {
      if (error instanceof AuthError) throw new LookupError(error.message);
      if (!(error instanceof TokenUnavailableError)) throw error;
      last = { reason: error.message, unreachable: 'token' };
      await backoff(error.retryAfterMs);
    };

    while (attempts < maxAttempts) {
      if (signal?.aborted) throw cancelled();
      attempts++;
      let token: string;
      try {
        token = await o.tokens.token();
      } catch (error) {
        await tokenFailed(error);
        continue;
      }
      requests++;
      const t = await this.once(type, url, token, id, signal);
      switch (t.kind) {
        case 'ok':
          return { result: this.accept(type, t.body), requests };
        case 'not_found':
          return { result: { kind: 'not_found' }, requests };
        case 'error':
          return { result: { kind: 'error', message: t.message }, requests };
        case 'unauthorized':
          if (++unauthorized >= 2) {
            throw new LookupError(
              'Canvas refused the access token again after renewing it (HTTP 401) while reading from the FHIR API',
              'check the API credentials, and that the FHIR API address belongs to the same Canvas instance',
            );
          }
          last = { reason: 'HTTP 401 Unauthorized' };
          try {
            await o.tokens.renew(token);
          } catch (error) {
            await tokenFailed(error);
          }
          continue;
        case 'retry':
          last = { reason: t.reason, unreachable: t.network ? 'network' : undefined };
          await backoff(t.retryAfterMs);
          continue;
      }
    }
    const message = `${last.reason} (gave up after ${attempts} attempts)`;
    return { result: { kind: 'error', message }, unreachable: last.unreachable, requests };
  }

  /** One HTTP try, classified. */
  private async once(type: ResourceType, url: URL, token: string, id: string, signal?: AbortSignal): Promise<Try> {
    let status: number;
    let body: string;
    let statusMessage: string | undefined;
    let retryAfter: string | undefined;
    try {
      const res = await this.o.http.get(url, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
        signal,
        timeoutMs: this.o.timeoutMs,
      });
      status = res.status;
      body = res.body;
      statusMessage = res.statusMessage;
      retryAfter = res.headers['retry-after'];
    } catch (error) {
      if (signal?.aborted) throw new ReadCancelled('lookup cancelled');
      const f = inspectFailure(error);
      if (f.tls) throw new LookupError(`cannot reach the Canvas FHIR API: ${f.reason}`, `${FIX_URL} and this machine's trusted certificates`);
      if (f.httpStatus !== undefined) return { kind: 'retry', reason: `${f.reason} (HTTP ${f.httpStatus})`, network: false };
      return { kind: 'retry', reason: f.reason, network: true };
    }
    // Every secret of the run, and the key read (not patient data, but not the server's to echo), redacted before shortening.
    const message = () => serverMessage(body, status, statusMessage, this.o.tokens.secrets, [token, id]);
    if (status >= 200 && status < 300) return { kind: 'ok', body };
    if (status === 404 || status === 410) return { kind: 'not_found' };
    if (status === 401) return { kind: 'unauthorized' };
    if (status === 403) {
      throw new LookupError(
        `Canvas does not let these API credentials read ${type} resources from the FHIR API (HTTP 403: ${message()})`,
        'give the API client read access to Patient, Practitioner and Location, or put the letter fields in the CSV',
      );
    }
    if (status === 429 || status >= 500) {
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter) : undefined;
      return { kind: 'retry', reason: `HTTP ${status} ${message()}`, retryAfterMs, network: false };
    }
    if (status >= 300 && status < 400) return { kind: 'error', message: `redirect (HTTP ${status}) not followed: ${FIX_URL}` };
    return { kind: 'error', message: `HTTP ${status}: ${message()}` };
  }

  /** A 2xx body: the expected resource, mapped; anything else is an error for this key. */
  private accept(type: ResourceType, body: string): ReadResult {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const resourceType = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).resourceType : undefined;
    if (resourceType !== type) {
      return { kind: 'error', message: `Canvas answered without a FHIR ${type} resource: ${FIX_URL}` };
    }
    return { kind: 'found', fields: MAPPERS[type](json) };
  }
}
