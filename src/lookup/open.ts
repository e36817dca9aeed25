/**
 * The one wiring of `--lookup`, for `send` and `preview`: a Directory reading from the FHIR
 * API of the configured instance over the given HTTP client and token source.
 */
import type { TokenSource } from '../canvas/auth.js';
import type { CanvasConfig } from '../canvas/config.js';
import type { HttpClient } from '../canvas/http.js';
import { fhirBaseUrl } from './base-url.js';
import { Directory } from './directory.js';

export interface LookupWiring {
  config: CanvasConfig;
  http: HttpClient;
  tokens: TokenSource;
  /** Most reads at once. */
  concurrency: number;
  /** Per-try request timeout. */
  timeoutMs: number;
  /** The backoff base of the reads' retries (default 500 ms). */
  retryBaseDelayMs?: number;
  /** The run's signal: when it fires, the reads and their backoffs stop (Directory.cancel). */
  signal?: AbortSignal;
}

/** A Directory for the instance's FHIR API (CANVAS_FHIR_BASE_URL, or derived from the instance address). */
export function openDirectory(w: LookupWiring): Directory {
  return new Directory({
    http: w.http,
    tokens: w.tokens,
    fhirBase: fhirBaseUrl(w.config),
    concurrency: w.concurrency,
    timeoutMs: w.timeoutMs,
    retryBaseDelayMs: w.retryBaseDelayMs,
    signal: w.signal,
  });
}
