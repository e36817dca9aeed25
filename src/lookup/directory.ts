/**
 * The lookup stage: read every distinct Patient, Practitioner and Location a run needs from the
 * Canvas FHIR API once, at most `concurrency` reads at a time, and answer per row with the merge
 * fields found and the keys that could not be used. A fatal problem (LookupError) cancels the
 * reads still running and is thrown by `load`: the run stops before anything is sent.
 */
import pLimit from 'p-limit';
import { ENV_BASE_URL } from '../canvas/config.js';
import type { KeyField, Keys } from '../types.js';
import { ENV_FHIR_BASE_URL } from './base-url.js';
import { LOOKUP_FIELDS } from './map.js';
import { FhirReader, LookupError, ReadCancelled, type ReaderOptions, type ReadOutcome, type ReadResult, type ResourceType } from './fhir.js';

/** Which resource each key names. */
export const KEY_RESOURCES: Readonly<Record<KeyField, ResourceType>> = Object.freeze({
  patientKey: 'Patient',
  providerKey: 'Practitioner',
  practiceLocationKey: 'Location',
});

const FIELDS = Object.keys(KEY_RESOURCES) as KeyField[];

/** FHIR ids: 1-64 of A-Z a-z 0-9 - . (and not "." or "..", which would change the URL path). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const isFhirId = (id: string): boolean => FHIR_ID.test(id) && id !== '.' && id !== '..';

export interface LookupProblem {
  field: KeyField;
  /** Names the resource type, never the key or anything read. */
  message: string;
}

export interface LookupStats {
  /** Distinct resources read (finished reads, whatever their result). */
  reads: number;
  found: number;
  notFound: number;
  errors: number;
  /** Keys refused without a request because they cannot be FHIR ids. */
  invalid: number;
  /** HTTP requests made, retries included. */
  requests: number;
}

export interface DirectoryOptions extends ReaderOptions {
  /** Most reads at once. */
  concurrency: number;
  /** When it fires, the directory is cancelled (see `cancel`): reads in flight, backoffs and queued reads stop. */
  signal?: AbortSignal;
}

interface Entry {
  promise: Promise<void>;
  /** Set when the read ended (not when it was cancelled). */
  result?: ReadResult;
  /** For an error: the last try got no HTTP answer (network) or no token (token). */
  unreachable?: ReadOutcome['unreachable'];
  /** False for a key refused without a request. */
  requested: boolean;
}

export class Directory {
  /** The merge fields a directory provides (see map.ts). */
  readonly fields: readonly string[] = LOOKUP_FIELDS;
  readonly stats: LookupStats = { reads: 0, found: 0, notFound: 0, errors: 0, invalid: 0, requests: 0 };
  private readonly reader: FhirReader;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly entries = new Map<string, Entry>();
  private readonly abort = new AbortController();
  private fatal?: LookupError;
  /** The FHIR API base the reads go to. */
  readonly fhirBase: URL;

  private fatalSoFar(): LookupError | undefined {
    return this.fatal;
  }

  constructor(opts: DirectoryOptions) {
    this.reader = new FhirReader(opts);
    this.fhirBase = opts.fhirBase;
    this.limit = pLimit(Math.max(1, Math.floor(opts.concurrency) || 1));
    if (opts.signal?.aborted) this.cancel();
    else opts.signal?.addEventListener('abort', () => this.cancel(), { once: true });
  }

  /**
   * Read every distinct key of `keys` not read yet (empty keys are skipped: validation reports
   * them). Resolves when all reads have ended. Throws LookupError when one read hit a fatal
   * problem, or when every read of this call failed without reaching the FHIR API.
   */
  async load(keys: Iterable<Keys>): Promise<void> {
    if (this.fatal) throw this.fatal;
    const mine: Entry[] = [];
    const seen = new Set<string>();
    for (const row of keys) {
      for (const field of FIELDS) {
        const id = row[field];
        if (!id) continue;
        const type = KEY_RESOURCES[field];
        const k = `${type}/${id}`;
        if (seen.has(k)) continue;
        seen.add(k);
        let entry = this.entries.get(k);
        if (!entry) {
          entry = this.start(type, id);
          this.entries.set(k, entry);
        }
        mine.push(entry);
      }
    }
    await Promise.all(mine.map((e) => e.promise));
    const fatal = this.fatalSoFar(); // a read may have hit one while we waited (TypeScript would keep the check above)
    if (fatal) throw fatal;
    this.checkReachable(mine);
  }

  /** The lookup fields for a row's keys: those of each resource found (after `load`). */
  fieldsFor(keys: Keys): Record<string, string> {
    const out: Record<string, string> = {};
    for (const field of FIELDS) {
      const r = this.entryOf(field, keys[field])?.result;
      if (r?.kind === 'found') Object.assign(out, r.fields);
    }
    return out;
  }

  /** The row's keys Canvas does not know, or whose resource could not be read (after `load`). */
  problemsFor(keys: Keys): LookupProblem[] {
    const out: LookupProblem[] = [];
    for (const field of FIELDS) {
      const entry = this.entryOf(field, keys[field]);
      const r = entry?.result;
      const type = KEY_RESOURCES[field];
      if (entry && !r) out.push({ field, message: `the lookup was stopped before the ${type} was read` });
      else if (r?.kind === 'not_found') out.push({ field, message: `Canvas has no ${type} with this key` });
      else if (r?.kind === 'error') out.push({ field, message: entry!.requested ? `could not read the ${type} from Canvas: ${r.message}` : r.message });
    }
    return out;
  }

  /**
   * Stop the reads still running or queued: a queued read ends without a request, a running one
   * at its next check of the signal. Called when a read hits a fatal problem, which `load` then
   * throws. problemsFor names the keys left unread; the directory reads nothing more after this.
   */
  cancel(): void {
    this.abort.abort(); // queued reads see the signal and end at once (clearQueue would leave them pending)
  }

  private entryOf(field: KeyField, id: string): Entry | undefined {
    return id ? this.entries.get(`${KEY_RESOURCES[field]}/${id}`) : undefined;
  }

  private start(type: ResourceType, id: string): Entry {
    const entry: Entry = { promise: Promise.resolve(), requested: false };
    if (!isFhirId(id)) {
      this.stats.invalid++;
      entry.result = { kind: 'error', message: `not a valid ${type} key (Canvas keys are 1-64 letters, digits, "-" or ".")` };
      return entry;
    }
    entry.requested = true;
    const signal = this.abort.signal;
    entry.promise = this.limit(async () => {
      if (signal.aborted) return;
      let outcome: ReadOutcome;
      try {
        outcome = await this.reader.read(type, id, signal);
      } catch (error) {
        if (error instanceof ReadCancelled) return;
        this.fatal ??= error instanceof LookupError ? error : new LookupError(`lookup failed unexpectedly (${errorName(error)})`);
        this.cancel();
        return;
      }
      this.record(entry, outcome);
    }).catch(() => undefined);
    return entry;
  }

  private record(entry: Entry, outcome: ReadOutcome): void {
    entry.result = outcome.result;
    entry.unreachable = outcome.unreachable;
    this.stats.reads++;
    this.stats.requests += outcome.requests;
    if (outcome.result.kind === 'found') this.stats.found++;
    else if (outcome.result.kind === 'not_found') this.stats.notFound++;
    else this.stats.errors++;
  }

  /** Every read of this load failed without an HTTP answer (or without a token): fatal. */
  private checkReachable(entries: Entry[]): void {
    const requested = entries.filter((e) => e.requested && e.result !== undefined);
    if (requested.length === 0 || !requested.every((e) => e.unreachable !== undefined)) return;
    const last = requested[requested.length - 1]!.result;
    const reason = last?.kind === 'error' ? last.message : 'no answer';
    if (requested.every((e) => e.unreachable === 'token')) {
      throw new LookupError(`no access token could be had for the FHIR API (${reason})`, `check ${ENV_BASE_URL}, or try again later`);
    }
    throw new LookupError(
      `the Canvas FHIR API could not be reached: every read failed (${reason})`,
      `check ${ENV_FHIR_BASE_URL} (by default derived from ${ENV_BASE_URL}) and the network`,
    );
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'error';
}
