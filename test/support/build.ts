/**
 * vitest global setup: bring dist/ up to date before any test runs (and before each rerun in watch
 * mode), so that the end-to-end tests never drive a stale CLI. First, as `npm run build` does, it
 * writes the generated modules that hold the pages' browser code (scripts/inline-browser.js), which
 * the in-process tests import from src/ too. `tsc -b` is incremental (tsconfig.json
 * sets `incremental`, and the build-info file is dist/.tsbuildinfo): when nothing in src/ changed it
 * compares hashes and emits nothing, in about a second. tsc -b trusts its build-info file, not the
 * outputs: when dist/cli/main.js is missing (dist/ half-deleted) it rebuilds everything.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { CLI, ROOT } from './cli.js';

function build(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'inline-browser.js')], { stdio: 'inherit', cwd: ROOT });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '-b', join(ROOT, 'tsconfig.json')];
  if (!existsSync(CLI)) args.push('--force');
  execFileSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
}

export default function setup(project: TestProject): void {
  build();
  project.onTestsRerun(build);
}
