/**
 * Public types of the sandbox: a local stand-in for the two Canvas endpoints canvas-letters
 * uses (OAuth client-credentials token and Letter create), with fault injection.
 */

/** What the sandbox does with one Letter request once it is authenticated and valid. */
export type FaultKind = '429' | '503' | '500' | '502' | '504' | '422' | '403' | '401' | 'reset' | 'hang' | 'ok';

/** Every fault kind, in the fixed order used for the cumulative rate draw ('ok' last). */
export const FAULT_KINDS: readonly FaultKind[] = [
  '429',
  '503',
  '500',
  '502',
  '504',
  '422',
  '403',
  '401',
  'reset',
  'hang',
  'ok',
];

export type InjectedFault = Exclude<FaultKind, 'ok'>;

export interface FaultConfig {
  /** Added before answering each Letter request (default 0). */
  latencyMs?: number;
  /** Probability 0..1 per Letter request, drawn with a seeded PRNG; the sum must be <= 1. */
  rates?: Partial<Record<InjectedFault, number>>;
  /** Retry-After header value for 429/503 (default "1"); may be an HTTP date. */
  retryAfter?: string;
  /** expires_in of new tokens (default 3600); expired tokens get 401. */
  tokenLifetimeSeconds?: number;
  /** 2xx body: {"letterKey": "..."} (default, 201), empty (201), or plain text (200). */
  responseBody?: 'json' | 'empty' | 'text';
}

export interface SandboxOptions extends FaultConfig {
  /** Default 0 (any free port). The sandbox listens on 127.0.0.1 only. */
  port?: number;
  /** Accepted credentials; default 'sandbox-client' / 'sandbox-secret'. */
  clientId?: string;
  clientSecret?: string;
  /** PRNG seed for rates (default 1). */
  seed?: number;
  /**
   * Keep letters in this folder across restarts: one `<id>.json` file per letter (0600) in a
   * folder that is 0700 (created if missing; an existing folder open to other users is refused).
   */
  store?: string;
}

export interface ReceivedLetter {
  id: string;
  receivedAt: string;
  patientKey: string;
  providerKey: string;
  practiceLocationKey: string;
  content: string;
  /** UTF-8 byte length of content. */
  size: number;
}

export interface SandboxStats {
  tokenRequests: number;
  tokensIssued: number;
  /** Letter POSTs received (any outcome). */
  letterRequests: number;
  /** Letter requests being handled concurrently (request start to response end / socket destroy). */
  inFlight: number;
  maxInFlight: number;
  outcomes: Record<FaultKind, number>;
  /** Date.now() at each Letter request start (for rate checks). */
  startTimes: number[];
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:43123 */
  readonly url: string;
  readonly port: number;
  /** Letters created, in arrival order (letters loaded from the store first, by receivedAt). */
  readonly letters: ReceivedLetter[];
  /** The store folder (absolute) when started with `store`, and the files it skipped at load. */
  readonly store?: { dir: string; loaded: number; skipped: string[] };
  /** Forget every letter, and delete their files from the store. */
  clearLetters(): void;
  stats(): SandboxStats;
  /** Change faults at run time: top-level keys given replace the current ones. */
  setFaults(f: FaultConfig): void;
  /** The next Letter requests get exactly these outcomes, in order, before rates apply. */
  script(...kinds: FaultKind[]): void;
  /** Every token issued so far becomes invalid (next use gets 401). */
  revokeTokens(): void;
  /** Forget letters (also in the store), stats and script (and reseed the PRNG); tokens and faults are kept. */
  reset(): void;
  /** Stop listening; also destroys hanging and idle keep-alive sockets. */
  close(): Promise<void>;
}
