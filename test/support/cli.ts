/** Drives the built CLI (dist/cli/main.js) in a child process, as a user would. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The child's environment: a fresh XDG_STATE_HOME per call unless the test passes one, so that no
 * test ever writes the real ~/.local/state (where the default ledger lives), and no ledger setting
 * of the machine running the tests leaks in.
 */
function childEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const { CANVAS_LETTERS_LEDGER: _ledger, XDG_STATE_HOME: _state, ...inherited } = process.env;
  return { ...inherited, NO_COLOR: '1', XDG_STATE_HOME: tempDir('cl-state-'), ...env };
}

export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: childEnv(opts.env),
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temporary folder. */
export function tempDir(prefix = 'cl-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write files (path → content) under a folder, creating subfolders. */
export function writeTree(dir: string, files: Record<string, string | Buffer>): string {
  for (const [name, content] of Object.entries(files)) {
    const file = join(dir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return dir;
}

export interface CliProcess {
  child: import('node:child_process').ChildProcess;
  /** Resolves when the process exits. */
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/** Start the CLI without blocking the event loop (needed when the test process runs the sandbox). */
export function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

export function runCliAsync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return startCli(args, opts).done;
}

/** Poll until a condition holds (for waiting on a server counter, never as a timing assertion). */
export async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Environment for a CLI run whose clock reads `at` (an ISO time) when it starts (test/support/fake-clock.mjs). */
export function clockAt(at: string): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: `--import=${pathToFileURL(join(ROOT, 'test', 'support', 'fake-clock.mjs')).href}`, FAKE_CLOCK_AT: at };
}
