/**
 * Headless Chromium for print checks (`preview --pdf`) and browser tests: the system's
 * Chromium (Debian package `chromium`) driven by playwright-core, which never downloads a
 * browser. Launched offline-quiet, with a fresh profile folder removed on close.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanvasLettersError } from '../errors.js';

/** Where Chromium is looked for, in order (CHROMIUM_PATH first when set). */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-default-browser-check',
];

export class ChromiumMissingError extends CanvasLettersError {
  constructor() {
    super('Chromium was not found', 'install it (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH to its executable');
  }
}

/** The Chromium executable, or undefined when none is installed. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.CHROMIUM_PATH ? [env.CHROMIUM_PATH] : CHROMIUM_CANDIDATES;
  return candidates.find((p) => existsSync(p));
}

export interface Browser {
  /** The playwright-core browser context (one fresh profile). */
  context: import('playwright-core').BrowserContext;
  close(): Promise<void>;
}

/** Launch headless Chromium with a fresh user-data dir; throws ChromiumMissingError when absent. */
export async function launchChromium(opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Browser> {
  const executablePath = findChromium(opts.env);
  if (!executablePath) throw new ChromiumMissingError();
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'canvas-letters-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      offline: false,
    });
    return {
      context,
      close: async () => {
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}
