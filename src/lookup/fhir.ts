/**
 * Reading one FHIR resource (Patient, Practitioner, Location) from Canvas, with the retry policy
 * of an idempotent GET: 5xx, 429 (Retry-After honoured, ≤ 60 s), timeouts, resets, refused
 * connections and DNS failures are retried with full-jitter backoff, at most `maxAttempts` tries;
 * 404/410 is "not found" at once; a 401 renews the token once; a second 401, a 403 and refused
 * credentials are fatal (LookupError). The resource is mapped to merge fields here and dropped:
 * nothing else of it is kept, and nothing is logged. Messages never hold a key, a token or
 * patient data.
 */
import type { TokenSource } from '../canvas/auth.js';
import { inspectFailure, parseRetryAfter, serverMessage } from '../canvas/responses.js';
import { ENV_BASE_URL } from '../canvas/config.js';
import type { HttpClient } from '../canvas/http.js';
import { abortableSleep, retry, type Step } from '../canvas/retry.js';
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

  /** GET {fhirBase}{type}/{id} under the FHIR reads' table. Throws LookupError (fatal) or ReadCancelled. */
  async read(type: ResourceType, id: string, signal?: AbortSignal): Promise<ReadOutcome> {
    const o = this.o;
    const url = new URL(`${o.fhirBase.href}${type}/${encodeURIComponent(id)}`);
    let requests = 0;
    const attempt = async (token: string): Promise<Step<ReadOutcome>> => {
      requests++;
      const t = await this.once(type, url, token, id, signal);
      switch (t.kind) {
        case 'ok':
          return { kind: 'done', value: { result: this.accept(type, t.body), requests } };
        case 'not_found':
          return { kind: 'done', value: { result: { kind: 'not_found' }, requests } };
        case 'error':
          return { kind: 'done', value: { result: { kind: 'error', message: t.message }, requests } };
        case 'unauthorized':
          return { kind: 'unauthorized' };
        case 'retry':
          return { kind: 'retry', reason: t.reason, retryAfterMs: t.retryAfterMs, network: t.network };
      }
    };
    return retry<ReadOutcome>(o.tokens, {
      maxAttempts: o.maxAttempts,
      baseDelayMs: o.retryBaseDelayMs,
      maxDelayMs: o.retryMaxDelayMs,
      sleep: o.sleep,
      random: o.random,
      signal,
      attempt,
      aborted: () => {
        throw new ReadCancelled('lookup cancelled');
      },
      refused: (error) => {
        throw new LookupError(error.message);
      },
      refusedAgain: () => {
        throw new LookupError(
          'Canvas refused the access token again after renewing it (HTTP 401) while reading from the FHIR API',
          'check the API credentials, and that the FHIR API address belongs to the same Canvas instance',
        );
      },
      gaveUp: (attempts, last) => ({
        result: { kind: 'error', message: `${last.reason} (gave up after ${attempts} attempts)` },
        unreachable: last.unreachable,
        requests,
      }),
    });
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
