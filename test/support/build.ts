/** vitest global setup: build dist/ once if it is missing (npm test builds before running). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT } from './cli.js';

export default function setup(): void {
  if (!existsSync(CLI)) execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: 'inherit' });
}
