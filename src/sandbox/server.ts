/**
 * startSandbox: puts the sandbox together. Its shared state (state.ts), one resource per API
 * (token.ts, letter.ts, fhir.ts, inbox.ts, control.ts), the route table over them (routes.ts) and
 * the HTTP server on 127.0.0.1 (listener.ts); optionally a folder keeping letters (store.ts).
 * It never writes to stdout/stderr, so letter content and tokens are never logged.
 */
import { controlResource } from './control.js';
import { SandboxDirectoryError, loadDirectory } from './directory.js';
import { validateFaultConfig } from './faults.js';
import { fhirResource, type FhirResource } from './fhir.js';
import { inboxResource } from './inbox.js';
import { letterResource } from './letter.js';
import { listen } from './listener.js';
import { compileRoutes, dispatch } from './router.js';
import { sandboxRoutes } from './routes.js';
import { emptyCounts, newState, type SandboxControls, type SandboxState } from './state.js';
import { openStore } from './store.js';
import { tokenResource, type TokenResource } from './token.js';
import type { Sandbox, SandboxOptions } from './types.js';

export { LETTER_PATH, TOKEN_PATH } from './routes.js';

/** The fault settings of the options, after refusing any host but loopback. */
function faultSettings(faultOptions: Record<string, unknown>): Record<string, unknown> {
  const { host, ...rest } = faultOptions;
  if (host !== undefined && host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error('the sandbox listens on 127.0.0.1 only; it cannot listen on another host');
  }
  return rest;
}

/** The Sandbox methods over the state, the tokens and the FHIR reads. */
function sandboxControls(state: SandboxState, tokens: TokenResource, fhir: FhirResource): SandboxControls {
  const controls: SandboxControls = {
    get letters() {
      return state.letters;
    },
    faults: () => state.faults,
    clearLetters() {
      state.letters.length = 0;
      state.store?.clear();
    },
    stats: () => ({
      ...state.counts,
      inFlight: state.inFlight,
      outcomes: { ...state.counts.outcomes },
      startTimes: [...state.counts.startTimes],
      ...fhir.stats(),
    }),
    setFaults(f) {
      state.faults = { ...state.faults, ...validateFaultConfig(f) };
    },
    script: (...kinds) => state.picker.script(kinds),
    scriptFhir: (...kinds) => fhir.script(kinds),
    revokeTokens: () => tokens.revoke(),
    reset() {
      controls.clearLetters();
      state.counts = emptyCounts();
      state.counts.maxInFlight = state.inFlight;
      state.picker.reset();
      fhir.reset();
    },
  };
  return controls;
}

/** Start a sandbox on 127.0.0.1 (port 0 = any free port). */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const { port = 0, clientId = 'sandbox-client', clientSecret = 'sandbox-secret', seed = 1, store: storeDir, directory, knownKeys = false, ...faultOptions } = opts;
  const faults = validateFaultConfig(faultSettings(faultOptions));
  if (knownKeys && directory === false) throw new SandboxDirectoryError('knownKeys checks letter keys against the directory: give a directory, or drop knownKeys');
  const served = loadDirectory(directory);
  const store = storeDir === undefined ? undefined : openStore(storeDir);
  const state = newState(faults, seed, store);
  const tokens = tokenResource(state, { clientId, clientSecret });
  const fhir = fhirResource(served, { tokenValid: tokens.valid, sleep: state.sleep, faults: () => state.faults });
  const controls = sandboxControls(state, tokens, fhir);
  const table = compileRoutes(
    sandboxRoutes({ token: tokens, letter: letterResource(state, tokens.valid, knownKeys ? served.bodies : undefined), fhir, inbox: inboxResource(controls), control: controlResource(controls) }),
  );
  const listener = await listen(port, (req, res, bound) => dispatch(table, req, res, bound), state.clearTimers);
  return {
    url: `http://127.0.0.1:${listener.port}`,
    port: listener.port,
    get letters() {
      return state.letters;
    },
    store: store && { dir: store.dir, loaded: store.loaded.length, skipped: store.skipped },
    directory: fhir.directory,
    clearLetters: controls.clearLetters,
    stats: controls.stats,
    setFaults: controls.setFaults,
    script: controls.script,
    scriptFhir: controls.scriptFhir,
    revokeTokens: controls.revokeTokens,
    reset: controls.reset,
    close: listener.close,
  };
}
