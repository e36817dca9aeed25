/**
 * The approved gallery in the system Chromium: after `approve --exclude`, `index.html` shows who
 * approved the batch and when, and marks the excluded rows' cards, under the page's own CSP.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type Browser } from '../../src/preview/chromium.js';
import { HAS_CHROMIUM } from '../support/browser.js';
import { ROOT, runCli, tempDir } from '../support/cli.js';

describe.skipIf(!HAS_CHROMIUM)('approved gallery (Chromium)', () => {
  const dir = tempDir('cl-approved-gallery-');
  const out = join(dir, 'out');
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let approve: ReturnType<typeof runCli>;

  beforeAll(async () => {
    const sample = readFileSync(join(ROOT, 'samples', 'jury-duty.csv'), 'utf8').trimEnd().split('\n');
    writeFileSync(join(dir, 'in.csv'), sample.slice(0, 5).join('\n') + '\n'); // four letters
    const preview = runCli(['preview', join(dir, 'in.csv'), '-t', 'jury-duty', '-o', out]);
    expect(preview.code, preview.stderr).toBe(0);
    approve = runCli(['approve', out, '--by', 'Dr. <i>Ada</i> Smith', '--exclude', '2', '--yes']);
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('console', (m) => /Content Security Policy|Refused/i.test(m.text()) && pageErrors.push(m.text()));
    page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
    await page.goto(pathToFileURL(join(out, 'index.html')).href);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shows who approved the batch and when, the name as text', async () => {
    expect(approve.code, approve.stderr).toBe(0);
    const banner = page.locator('#approval');
    await expect.poll(() => banner.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await banner.innerText()).toMatch(/^Approved by Dr\. <i>Ada<\/i> Smith on \d{4}-\d\d-\d\d \d\d:\d\d UTC: 3 letters; 1 excluded/);
  });

  it('marks the excluded row, and only it', async () => {
    await expect.poll(() => page.locator('#grid .card').count(), { timeout: 10_000 }).toBe(4);
    const excluded = await page.locator('#grid .card.excluded').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-row'))));
    expect(excluded).toEqual([2]);
    expect(await page.locator('.card[data-row="2"] .badge.excl').textContent()).toBe('excluded');
    expect(await page.locator('.card[data-row="1"] .badge.excl').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
