/**
 * Public types of the sandbox: a local stand-in for the Canvas endpoints canvas-letters uses
 * (OAuth client-credentials token, Letter create, FHIR reads of Patient, Practitioner and
 * Location), with fault injection.
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
  /** Added before answering each Letter request and each FHIR read (default 0). */
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

/** The FHIR R4 resources the sandbox serves at GET /<type>/<id>. */
export type FhirResourceType = 'Patient' | 'Practitioner' | 'Location';
export const FHIR_RESOURCE_TYPES: readonly FhirResourceType[] = ['Patient', 'Practitioner', 'Location'];

/** What the sandbox does with one authenticated FHIR read ('ok': the resource, or 404 for an unknown id). */
export type FhirFaultKind = 'ok' | '404' | '500' | '503' | '429' | '401' | '403' | 'hang' | 'reset';
export const FHIR_FAULT_KINDS: readonly FhirFaultKind[] = ['ok', '404', '500', '503', '429', '401', '403', 'hang', 'reset'];

/** Shaped like samples/sandbox-directory.json: resources by type, then by id (= the letter's key). */
export type DirectoryData = Partial<Record<FhirResourceType, Record<string, Record<string, unknown>>>>;

/** Where the served resources came from, and how many of each type there are. */
export interface SandboxDirectory {
  /** Absolute path of the directory file; null when given as an object or turned off. */
  source: string | null;
  counts: Record<FhirResourceType, number>;
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
  /**
   * Resources served at GET /Patient/<id>, /Practitioner/<id>, /Location/<id>: a JSON file shaped
   * like samples/sandbox-directory.json, or that object. Default: the bundled sample directory;
   * false (or {}): none, every read is 404. A file or object that is not such a directory throws.
   */
  directory?: string | DirectoryData | false;
  /**
   * Answer a letter whose patientKey, providerKey or practiceLocationKey is not a Patient,
   * Practitioner or Location of the directory as Canvas answers unknown references: 422 with an
   * OperationOutcome issue per unknown key (e.g. `patientKey 86b2…: no such patient`), letter
   * not created; counted as outcome '422'. Default false (any keys are accepted). Needs a
   * directory: with `directory: false` startSandbox throws SandboxDirectoryError.
   */
  knownKeys?: boolean;
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
  /** The X-Canvas-Letters-Approval header of the request (send --approved), when it had a well-formed one. */
  approvalId?: string;
}

export interface FhirReadStats {
  /** FHIR GETs received (any outcome, unauthenticated ones too). */
  fhirReads: number;
  fhirReadsByType: Record<FhirResourceType, number>;
  /** FHIR GETs per `Type/id` (e.g. "Patient/86b2…"). */
  fhirReadCounts: Record<string, number>;
}

export interface SandboxStats extends FhirReadStats {
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
  /** Where the FHIR resources came from and how many there are of each type. */
  readonly directory: SandboxDirectory;
  /** Forget every letter, and delete their files from the store. */
  clearLetters(): void;
  stats(): SandboxStats;
  /** Change faults at run time: top-level keys given replace the current ones. */
  setFaults(f: FaultConfig): void;
  /** The next Letter requests get exactly these outcomes, in order, before rates apply. */
  script(...kinds: FaultKind[]): void;
  /** The next FHIR reads (authenticated ones) get exactly these outcomes, in order; then normal answers. */
  scriptFhir(...kinds: FhirFaultKind[]): void;
  /** Every token issued so far becomes invalid (next use gets 401). */
  revokeTokens(): void;
  /** Forget letters (also in the store), stats and scripts (and reseed the PRNG); tokens, faults and directory are kept. */
  reset(): void;
  /** Stop listening; also destroys hanging and idle keep-alive sockets. */
  close(): Promise<void>;
}
