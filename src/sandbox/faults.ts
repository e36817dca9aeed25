/**
 * Fault injection for the sandbox: a seeded PRNG (mulberry32), the script queue and the
 * cumulative rate draw that pick each Letter request's outcome, parsing and validation of
 * fault settings, and the FHIR OperationOutcome bodies the error outcomes answer with.
 */
import { FAULT_KINDS, type FaultConfig, type FaultKind, type InjectedFault } from './types.js';

const INJECTED = FAULT_KINDS.filter((k): k is InjectedFault => k !== 'ok');

/** mulberry32: a tiny, fast, seedable PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isInjected(kind: string): kind is InjectedFault {
  return (INJECTED as readonly string[]).includes(kind);
}

export function isFaultKind(kind: unknown): kind is FaultKind {
  return typeof kind === 'string' && (FAULT_KINDS as readonly string[]).includes(kind);
}

function checkRates(rates: Record<string, unknown>): NonNullable<FaultConfig['rates']> {
  const out: NonNullable<FaultConfig['rates']> = {};
  let sum = 0;
  for (const [kind, rate] of Object.entries(rates)) {
    if (!isInjected(kind)) throw new Error(`unknown fault kind "${kind}": use one of ${INJECTED.join(', ')}`);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new Error(`fault rate for ${kind} must be a number from 0 to 1`);
    }
    out[kind] = rate;
    sum += rate;
  }
  if (sum > 1 + 1e-9) throw new Error(`fault rates add up to ${sum}, more than 1`);
  return out;
}

/**
 * Parse "kind=rate" specs (e.g. "429=0.1", "reset=0.05"; a spec may also hold several,
 * comma-separated) into rates. Throws an Error naming the bad spec.
 */
export function parseFaultRates(specs: string[]): FaultConfig['rates'] {
  const rates: Record<string, number> = {};
  for (const spec of specs) {
    for (const part of spec.split(',')) {
      const item = part.trim();
      if (item === '') continue;
      const m = /^([^=\s]+)\s*=\s*(\S+)$/.exec(item);
      if (!m) throw new Error(`bad fault spec "${item}": expected kind=rate, e.g. 429=0.1`);
      const kind = m[1] ?? '';
      const text = m[2] ?? '';
      if (!isInjected(kind)) throw new Error(`bad fault spec "${item}": unknown kind "${kind}", use one of ${INJECTED.join(', ')}`);
      const rate = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
      if (!(rate >= 0 && rate <= 1)) throw new Error(`bad fault spec "${item}": rate must be a number from 0 to 1`);
      if (kind in rates) throw new Error(`bad fault spec "${item}": kind ${kind} given twice`);
      rates[kind] = rate;
    }
  }
  return checkRates(rates);
}

/** Check a FaultConfig from code or JSON; returns a copy without undefined keys, throws on bad values. */
export function validateFaultConfig(input: unknown): FaultConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error('fault config must be an object');
  const f = input as Record<string, unknown>;
  const out: FaultConfig = {};
  for (const [key, value] of Object.entries(f)) {
    if (value === undefined) continue;
    switch (key) {
      case 'latencyMs':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error('latencyMs must be a number >= 0');
        out.latencyMs = value;
        break;
      case 'rates':
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('rates must be an object of kind: rate');
        out.rates = checkRates(value as Record<string, unknown>);
        break;
      case 'retryAfter':
        if (typeof value !== 'string' || value === '' || /[\r\n]/.test(value)) throw new Error('retryAfter must be a one-line string');
        out.retryAfter = value;
        break;
      case 'tokenLifetimeSeconds':
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new Error('tokenLifetimeSeconds must be a number > 0');
        out.tokenLifetimeSeconds = value;
        break;
      case 'responseBody':
        if (value !== 'json' && value !== 'empty' && value !== 'text') throw new Error('responseBody must be json, empty or text');
        out.responseBody = value;
        break;
      default:
        throw new Error(`unknown fault setting "${key}"`);
    }
  }
  return out;
}

/** Picks each Letter request's outcome: scripted kinds first, then one draw against rates. */
export class FaultPicker {
  private queue: FaultKind[] = [];
  private rng: () => number;

  constructor(private readonly seed: number) {
    this.rng = mulberry32(seed);
  }

  script(kinds: FaultKind[]): void {
    for (const k of kinds) if (!isFaultKind(k)) throw new Error(`unknown fault kind "${String(k)}"`);
    this.queue.push(...kinds);
  }

  /** Forget the script and restart the PRNG from the seed. */
  reset(): void {
    this.queue = [];
    this.rng = mulberry32(this.seed);
  }

  next(rates: FaultConfig['rates']): FaultKind {
    const scripted = this.queue.shift();
    if (scripted) return scripted;
    const r = this.rng();
    let acc = 0;
    for (const kind of INJECTED) {
      acc += rates?.[kind] ?? 0;
      if (r < acc) return kind;
    }
    return 'ok';
  }
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: { severity: 'error'; code: string; details: { text: string } }[];
}

export function operationOutcome(code: string, text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

export const UNAUTHENTICATED_TEXT = 'Authentication credentials were not provided or are invalid.';

/** The fault kinds answered with an HTTP error status (the others store the letter). */
export type ErrorFault = Exclude<InjectedFault, 'reset' | 'hang'>;

/** Status, extra headers and body for an error fault. The 422 text names the patient key only. */
export function faultAnswer(
  kind: ErrorFault,
  patientKey: string,
  retryAfter: string,
): { status: number; headers: Record<string, string>; body: OperationOutcome } {
  switch (kind) {
    case '429':
      return { status: 429, headers: { 'Retry-After': retryAfter }, body: operationOutcome('throttled', 'Request was throttled.') };
    case '503':
      return { status: 503, headers: { 'Retry-After': retryAfter }, body: operationOutcome('transient', 'Service temporarily unavailable.') };
    case '500':
      return { status: 500, headers: {}, body: operationOutcome('exception', 'Internal server error.') };
    case '502':
      return { status: 502, headers: {}, body: operationOutcome('transient', 'Bad gateway.') };
    case '504':
      return { status: 504, headers: {}, body: operationOutcome('timeout', 'Gateway timeout.') };
    case '422':
      return { status: 422, headers: {}, body: operationOutcome('processing', `Patient with key ${patientKey.slice(0, 100)} not found`) };
    case '403':
      return { status: 403, headers: {}, body: operationOutcome('forbidden', 'You do not have permission to perform this action.') };
    case '401':
      return { status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, body: operationOutcome('login', UNAUTHENTICATED_TEXT) };
  }
}
