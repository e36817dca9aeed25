/**
 * Browser tests use the system Chromium. Without it they are skipped locally with a message
 * saying how to install it; in CI (CI=true) a missing Chromium is a failure, never a skip.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findChromium } from '../../src/preview/chromium.js';
import { ROOT } from './cli.js';

export const HAS_CHROMIUM = findChromium() !== undefined;
export const ARTIFACTS = join(ROOT, 'test-artifacts');

if (!HAS_CHROMIUM) {
  const how = 'Chromium not found: browser tests need it (sudo apt-get install chromium, or set CHROMIUM_PATH)';
  if (process.env.CI) throw new Error(`${how}; CI must run them`);
  process.stderr.write(`skipping browser tests: ${how}\n`);
}

/** Folder for screenshots and PDFs kept as test artifacts. */
export function artifactsDir(name: string): string {
  const dir = join(ARTIFACTS, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
