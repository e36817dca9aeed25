/**
 * One sandbox per test file (port 0, in the test process), reset to no faults before each test,
 * and the environment that points the CLI at it.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';

export interface SandboxFixture {
  readonly sandbox: Sandbox;
  /** CANVAS_* variables for the sandbox (and a 1 ms retry backoff), plus `extra`. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

export function useSandbox(options: SandboxOptions = {}): SandboxFixture {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, retryAfter: '0', ...options });
  });
  afterAll(() => sandbox?.close());
  beforeEach(() => {
    sandbox!.reset();
    sandbox!.setFaults({ latencyMs: 0, rates: {}, retryAfter: '0', tokenLifetimeSeconds: 3600 });
  });
  return {
    get sandbox() {
      return sandbox!;
    },
    env: (extra = {}) => ({
      CANVAS_BASE_URL: sandbox!.url,
      CANVAS_CLIENT_ID: 'sandbox-client',
      CANVAS_CLIENT_SECRET: 'sandbox-secret',
      CANVAS_ACCESS_TOKEN: '',
      CANVAS_LETTERS_RETRY_BASE_MS: '1',
      ...extra,
    }),
  };
}

/** For tests that start their own sandboxes: a starter whose sandboxes are closed after each test. */
export function trackedSandboxes(): (options?: SandboxOptions) => Promise<Sandbox> {
  const open: Sandbox[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((sb) => sb.close()));
  });
  return async (options) => {
    const sb = await startSandbox(options);
    open.push(sb);
    return sb;
  };
}
