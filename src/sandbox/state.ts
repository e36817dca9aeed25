/**
 * The sandbox's shared state: the current faults, the fault picker, the letters (and their store),
 * the counts the token and Letter endpoints keep, and the timers of pending latency waits (which
 * close() clears).
 */
import { FaultPicker } from './faults.js';
import type { LetterStore } from './store.js';
import { FAULT_KINDS, type FaultConfig, type FaultKind, type FhirReadStats, type ReceivedLetter, type Sandbox, type SandboxStats } from './types.js';

/** The stats kept here; stats() adds the live inFlight and the FHIR read counts. */
export type Counts = Omit<SandboxStats, keyof FhirReadStats>;

export interface SandboxState {
  /** Replaced as a whole by setFaults; read afresh by each request at each step. */
  faults: FaultConfig;
  readonly picker: FaultPicker;
  /** Letters in arrival order; cleared in place, so it stays the same array. */
  readonly letters: ReceivedLetter[];
  readonly store: LetterStore | undefined;
  counts: Counts;
  /** Letter requests being handled now: reset() does not forget requests still being handled. */
  inFlight: number;
  /** Resolves after ms (at once for ms <= 0); its timer is cleared by clearTimers(). */
  sleep: (ms: number) => Promise<void>;
  clearTimers: () => void;
}

/** What the inbox and control endpoints may do to the sandbox: its methods, and read the faults. */
export type SandboxControls = Pick<Sandbox, 'letters' | 'clearLetters' | 'stats' | 'setFaults' | 'script' | 'scriptFhir' | 'revokeTokens' | 'reset'> & {
  faults(): FaultConfig;
};

export function emptyCounts(): Counts {
  const outcomes = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  return { tokenRequests: 0, tokensIssued: 0, letterRequests: 0, inFlight: 0, maxInFlight: 0, outcomes, startTimes: [] };
}

/** Fresh state with these faults, a picker seeded with seed, and the store's letters (if any). */
export function newState(faults: FaultConfig, seed: number, store: LetterStore | undefined): SandboxState {
  const timers = new Set<NodeJS.Timeout>();
  return {
    faults,
    picker: new FaultPicker(seed),
    letters: store ? [...store.loaded] : [],
    store,
    counts: emptyCounts(),
    inFlight: 0,
    sleep: (ms) =>
      new Promise((resolve) => {
        if (ms <= 0) return resolve();
        const t = setTimeout(() => (timers.delete(t), resolve()), ms);
        timers.add(t);
      }),
    clearTimers: () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
