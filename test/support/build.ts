/**
 * vitest global setup: bring dist/ up to date before any test runs, so that the end-to-end tests
 * never drive a stale CLI. `tsc -b` is incremental (tsconfig.json sets `incremental`, and the
 * build-info file lives in dist/): when nothing in src/ changed it only compares hashes and emits
 * nothing. Without dist/cli.js (dist/ half-deleted) it rebuilds from scratch.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT } from './cli.js';

export default function setup(): void {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '-b', join(ROOT, 'tsconfig.json')];
  if (!existsSync(CLI)) args.push('--force');
  execFileSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
}
