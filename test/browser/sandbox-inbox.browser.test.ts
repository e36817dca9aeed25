/**
 * The sandbox inbox in headless Chromium: the bundled jury-duty samples are sent with the built
 * CLI exactly as a user would, then the page lists, filters, renders and edits faults.
 * Screenshots go to test-artifacts/sandbox-inbox/.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from '../../src/preview/chromium.js';
import { LETTER_PATH, TOKEN_PATH, startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { HAS_CHROMIUM, artifactsDir } from '../support/browser.js';
import { runCliAsync, tempDir } from '../support/cli.js';

describe.skipIf(!HAS_CHROMIUM)('sandbox inbox in Chromium', () => {
  let sandbox: Sandbox;
  let browser: Browser;
  let page: Page;
  const shots = HAS_CHROMIUM ? artifactsDir('sandbox-inbox') : '';
  const shot = (name: string) => page.screenshot({ path: join(shots, name) });

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    const tmp = tempDir('cl-inbox-');
    const sent = await runCliAsync(
      ['send', 'samples/jury-duty.csv', '-t', 'jury-duty', '--yes', '--ledger', join(tmp, 'l.db'), '-o', join(tmp, 'out')],
      { env: { CANVAS_BASE_URL: sandbox.url, CANVAS_CLIENT_ID: 'sandbox-client', CANVAS_CLIENT_SECRET: 'sandbox-secret' } },
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(sandbox.letters).toHaveLength(20);
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(5000);
    await page.setViewportSize({ width: 1440, height: 1000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
  });

  const rows = () => page.locator('#list a.row');

  /** POST a letter to the sandbox as send does (a token first), with `headers` over the usual ones. */
  async function postLetter(letter: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const tokenRes = await fetch(sandbox.url + TOKEN_PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret',
    });
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    return fetch(sandbox.url + LETTER_PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${access_token}`, ...headers },
      body: JSON.stringify(letter),
    });
  }

  it('lists the 20 letters newest first, with subject, keys and size', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    await page.goto(`${sandbox.url}/`);
    await expect.poll(() => rows().count()).toBe(20);
    await expect.poll(() => page.locator('#count').textContent()).toBe('20 letters');
    const newest = sandbox.letters[sandbox.letters.length - 1]!;
    await expect.poll(() => rows().first().getAttribute('data-id')).toBe(newest.id);
    const first = (await rows().first().innerText()).replace(/\s+/g, ' ');
    expect(first).toContain('Request to excuse from jury service');
    expect(first).toContain(newest.patientKey);
    expect(first).toMatch(/\d+\.\d KB/);
    await shot('01-list.png');
    expect(errors).toEqual([]);
  });

  it('narrows the list as a patient name is typed (letter text, accents ignored)', async () => {
    await page.locator('#filter').pressSequentially('nunez', { delay: 20 });
    await expect.poll(() => rows().count()).toBe(1);
    const jose = sandbox.letters.find((l) => l.content.includes('Núñez'))!;
    expect(await rows().first().getAttribute('data-id')).toBe(jose.id);
    await expect.poll(() => page.locator('#count').textContent()).toBe('1 of 20 letters match');
    expect(await rows().first().locator('.snippet mark').first().textContent()).toBe('Núñez');
    await shot('02-filter.png');
    await page.locator('#filter').fill('');
    await expect.poll(() => rows().count()).toBe(20);
  });

  it('shows a selected letter rendered in a sandboxed, US-Letter-shaped iframe', async () => {
    const target = sandbox.letters.find((l) => l.content.includes('Siobhán'))!;
    await page.locator('#filter').fill('Siobhán');
    await expect.poll(() => rows().count()).toBe(1);
    await rows().first().click();
    expect(new URL(page.url()).hash).toBe(`#${target.id}`);
    await expect.poll(() => page.locator('#d-patient').textContent()).toBe(target.patientKey);
    const frame = page.frameLocator('#frame');
    await expect.poll(() => frame.locator('body').innerText()).toContain('Dear Clerk of the Court');
    expect(await frame.locator('body').innerText()).toContain("Siobhán O'Brien");
    expect(await page.locator('#frame').getAttribute('sandbox')).toBe('');
    const box = (await page.locator('#frame').boundingBox())!;
    expect(box.width).toBeCloseTo(8.5 * 96, 0);
    expect(box.height).toBeCloseTo(11 * 96, 0);
    await page.locator('#filter').fill('');
    await expect.poll(() => rows().count()).toBe(20);
    await shot('03-letter.png');
  });

  it('toggles to the escaped HTML source', async () => {
    await page.locator('#tab-source').click();
    const pre = page.locator('pre#source');
    expect(await pre.isVisible()).toBe(true);
    expect(await page.locator('#frame').isVisible()).toBe(false);
    expect(await pre.innerHTML()).toContain('&lt;!doctype html&gt;');
    expect(await pre.innerText()).toContain('<title>Request to excuse from jury service</title>');
    await shot('04-source.png');
    await page.locator('#tab-rendered').click();
    expect(await page.locator('#frame').isVisible()).toBe(true);
  });

  it('changes the latency from the fault form', async () => {
    await page.locator('#faults-toggle').click();
    const latency = page.locator('input[name="latency"]');
    await expect.poll(() => latency.inputValue()).toBe('0');
    await latency.fill('250');
    await page.locator('input[name="rate-429"]').fill('0.1');
    await page.locator('#faults-form button[type="submit"]').click();
    await expect.poll(() => page.locator('#faults-msg').textContent()).toMatch(/^Applied at /);
    const faults = (await (await fetch(`${sandbox.url}/sandbox/faults`)).json()) as Record<string, unknown>;
    expect(faults).toMatchObject({ latencyMs: 250, rates: { '429': 0.1 } });
    await expect.poll(() => page.locator('#faults-badge').textContent()).toBe('429 10%, 250 ms latency');
    await shot('05-faults.png');
    await page.locator('input[name="rate-429"]').fill('0.7');
    await page.locator('input[name="rate-503"]').fill('0.7');
    await page.locator('#faults-form button[type="submit"]').click();
    await expect.poll(() => page.locator('#faults-msg').textContent()).toMatch(/^Not applied: .*more than 1/);
    await page.locator('#faults-none').click();
    await expect.poll(() => page.locator('#faults-badge').textContent()).toBe('none');
    await page.keyboard.press('Escape');
  });

  it('shows hostile values as text and picks up new letters while open', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const res = await postLetter({
      patientKey: evil,
      providerKey: 'prov',
      practiceLocationKey: 'loc',
      content: `<html><head><meta name="canvas-letters-template" content="${evil.replace(/"/g, '&quot;')}"><title>&lt;script&gt;x()&lt;/script&gt;</title></head><body><script>window.parent.__pwned=2</script>Hi</body></html>`,
    });
    expect(res.status).toBe(201);
    await expect.poll(() => rows().count(), { timeout: 5000 }).toBe(21);
    const top = rows().first();
    expect(await top.locator('.subject').textContent()).toBe('<script>x()</script>');
    expect(await top.locator('.tag').textContent()).toBe(evil);
    expect(await top.locator('img').count()).toBe(0);
    await top.click();
    await expect.poll(() => page.frameLocator('#frame').locator('body').innerText()).toContain('Hi');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('#d-template').textContent()).toBe(evil);
    await shot('06-hostile.png');
  });

  it('deletes all letters from the page after confirming, and shows how to send some', async () => {
    page.once('dialog', (d) => void d.accept());
    await page.locator('#clear').click();
    await expect.poll(() => rows().count()).toBe(0);
    expect(sandbox.letters).toHaveLength(0);
    expect(await page.locator('#empty').innerText()).toContain(`CANVAS_BASE_URL=${sandbox.url}`);
    expect(await page.locator('#placeholder').isVisible()).toBe(true);
    await shot('07-empty.png');
  });

  it('shows the approval id of a letter sent under an approval, and no approval line for one sent without or with markup in the header', async () => {
    const approval = '3b2c1d4e-5f60-4718-9a2b-3c4d5e6f7a8b';
    /** Post a letter titled `title` and return its id in the sandbox. */
    const send = async (title: string, headers: Record<string, string> = {}) => {
      const content = `<html><head><title>${title}</title></head><body>Hi</body></html>`;
      expect((await postLetter({ patientKey: 'pat', providerKey: 'prov', practiceLocationKey: 'loc', content }, headers)).status).toBe(201);
      return sandbox.letters.at(-1)!.id;
    };
    const approved = await send('Approved', { 'X-Canvas-Letters-Approval': approval });
    const plain = await send('Plain');
    const markup = await send('Markup', { 'X-Canvas-Letters-Approval': '<b>not an id</b>' });
    await page.goto(`${sandbox.url}/`);
    /** Open letter `id` from the list; resolves once the detail pane shows it. */
    const open = async (id: string) => {
      await page.locator(`#list a.row[data-id="${id}"]`).click();
      await expect.poll(() => page.locator('#d-id').textContent()).toBe(id);
    };
    await open(approved);
    expect(await page.locator('#d-approval-row').isVisible()).toBe(true);
    expect(await page.locator('#d-approval').textContent()).toBe(approval);
    await shot('08-approval.png');
    for (const id of [plain, markup]) {
      await open(id);
      expect(await page.locator('#d-approval-row').isHidden()).toBe(true);
      expect(await page.locator('#d-approval').textContent()).toBe('');
    }
  });
});
