/**
 * The preview gallery (`<out>/index.html`) and the print check (`preview --pdf`) in the
 * system Chromium: the built CLI previews the jury-duty sample plus rows that make other
 * statuses and a second template, then the page is used as a reviewer would use it.
 */
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type Browser } from '../../src/preview/chromium.js';
import { renderIndexPage } from '../../src/preview/gallery.js';
import type { ReportSummary } from '../../src/report/writer.js';
import { emptyCounts } from '../../src/types.js';
import { HAS_CHROMIUM, artifactsDir } from '../support/browser.js';
import { ROOT, runCli, tempDir, writeTree } from '../support/cli.js';

type Rec = Record<string, string>;
const read = (file: string): Rec[] => parse(readFileSync(join(ROOT, 'samples', file)), { columns: true, bom: true });

/** 24 rows: the 20 jury-duty letters, 2 school notes, 1 invalid row (row 4), 1 duplicate of row 1 (row 7). */
function mixedCsv(file: string): { jury: Rec[]; school: Rec[] } {
  const jury = read('jury-duty.csv').map((r) => ({ ...r, template: 'jury-duty' }));
  const school = read('school-note.csv').slice(0, 2).map((r) => ({ ...r, template: 'school-note' }));
  const invalid = { ...jury[3]!, patientKey: 'ffffeeeeddddccccbbbbaaaa99998888', patientName: '' };
  const rows = [jury[0], school[0], jury[1], invalid, jury[2], jury[4], jury[0], school[1], ...jury.slice(5), jury[3]] as Rec[];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  writeFileSync(file, stringify(rows, { header: true, columns }));
  return { jury, school };
}

const cards = (page: Page) => page.locator('#grid .card');
const rowNumbers = (page: Page) => cards(page).evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-row'))));
/** Search the gallery at once (Enter skips the pause the page waits for typing to stop). */
async function find(page: Page, text: string): Promise<void> {
  await page.locator('#q').fill(text);
  await page.locator('#q').press('Enter');
}

describe('preview index.html (no browser)', () => {
  it('is a self-contained gallery: CSP, no remote references, escaped rows as JSON', () => {
    const dir = tempDir();
    const jury = read('jury-duty.csv').slice(0, 2);
    jury[1]!.patientName = '';
    writeFileSync(join(dir, 'in.csv'), stringify(jury, { header: true, columns: Object.keys(jury[0]!) }));
    expect(runCli(['preview', join(dir, 'in.csv'), '-t', 'jury-duty', '-o', join(dir, 'out'), '--skip-invalid']).code).toBe(1);
    const html = readFileSync(join(dir, 'out', 'index.html'), 'utf8');
    const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)![1]!.replace(/&#39;/g, "'");
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[^']+'(;|$)/);
    expect(csp).toMatch(/style-src 'sha256-[^']+'(;|$)/);
    expect(csp).toContain("frame-src 'self' file:");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const data = JSON.parse(html.match(/<script type="application\/json" id="rows-data">([\s\S]*?)<\/script>/)![1]!);
    const keys = (r: Rec) => [r.patientKey, r.providerKey, r.practiceLocationKey];
    expect(data).toEqual([
      { row: 1, status: 'previewed', keys: keys(jury[0]!), template: 'jury-duty', preview: 'letters/row-00001.html' },
      { row: 2, status: 'invalid', keys: keys(jury[1]!), template: 'jury-duty', error: 'column patientName: empty' },
    ]);
  });

  it("holds each letter's words, folded, less the template's own, as the search index in index.html and nowhere else", () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), stringify(read('jury-duty.csv').slice(0, 2), { header: true, columns: Object.keys(read('jury-duty.csv')[0]!) }));
    const run = runCli(['preview', join(dir, 'in.csv'), '-t', 'jury-duty', '-o', join(dir, 'out'), '--json']);
    expect(run.code).toBe(0);
    const html = readFileSync(join(dir, 'out', 'index.html'), 'utf8');
    const index = JSON.parse(html.match(/<script type="application\/json" id="search-data">([\s\S]*?)<\/script>/)![1]!) as { common: Record<string, string>; rows: string[] };
    const texts = index.rows;
    expect(texts).toHaveLength(2);
    expect(texts[0]).toContain('siobhan o brien');
    expect(texts[0]).toContain('march 14 1958');
    expect(texts[0]).toMatch(/^[\p{Ll}\p{N}]+( [\p{Ll}\p{N}]+)*$/u); // words only: no tags, entities, upper case or runs of spaces
    expect(new Set(texts[0]!.split(' ')).size).toBe(texts[0]!.split(' ').length); // each word once
    expect(texts[1]).toContain('anthony d angelo');
    expect(index.common['jury-duty']).toMatch(/\bjury\b/); // the template's own words, once for all its letters
    expect(texts[0]).not.toMatch(/\bjury\b/);
    for (const file of ['report.csv', 'report.json']) expect(readFileSync(join(dir, 'out', file), 'utf8')).not.toMatch(/siobh|d'angelo/i);
    expect(run.stdout + run.stderr).not.toMatch(/siobh|d'angelo/i);
  });
});

describe.skipIf(!HAS_CHROMIUM)('preview gallery and --pdf (Chromium)', () => {
  const art = HAS_CHROMIUM ? artifactsDir('preview-gallery') : '';
  const dir = tempDir('cl-gallery-');
  const out = join(dir, 'out');
  let jury: Rec[] = [];
  let browser: Browser;
  let page: Page;
  const cspErrors: string[] = [];
  let run: ReturnType<typeof runCli>;

  beforeAll(async () => {
    ({ jury } = mixedCsv(join(dir, 'mixed.csv')));
    run = runCli(['preview', join(dir, 'mixed.csv'), '-t', 'jury-duty', '-o', out, '--skip-invalid', '--pdf']);
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    page.on('console', (m) => /Content Security Policy|Refused/i.test(m.text()) && cspErrors.push(m.text()));
    page.on('pageerror', (e) => cspErrors.push(`page error: ${e.message}`));
    await page.goto(pathToFileURL(join(out, 'index.html')).href);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('previews the batch and prints every letter (exit 1: one row is invalid)', () => {
    expect(run.stderr).toContain('24 rows: 22 previewed, 1 skipped, 1 invalid');
    expect(run.stderr).toContain('pdf: 22 of 22 letters printed');
    expect(run.code).toBe(1);
  });

  it('shows every row as a card, letters as sandboxed lazy page thumbnails', async () => {
    await expect.poll(() => cards(page).count(), { timeout: 10_000 }).toBe(24); // the first test waits for the page's script on a loaded machine
    expect(await rowNumbers(page)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(await page.locator('#shown').textContent()).toBe('Showing all 24 rows');
    expect(await page.locator('#chips').innerText()).toMatch(/All\s*24[\s\S]*previewed\s*22[\s\S]*skipped\s*1[\s\S]*invalid\s*1/);
    const frame = page.locator('.card[data-row="1"] .thumb iframe');
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect(await frame.getAttribute('loading')).toBe('lazy');
    expect(await frame.getAttribute('src')).toBe('letters/row-00001.html');
    const box = (await page.locator('.card[data-row="1"] .thumb').boundingBox())!;
    expect(box.height / box.width).toBeCloseTo(11 / 8.5, 2);
    const invalid = page.locator('.card[data-row="4"]');
    expect(await invalid.locator('iframe').count()).toBe(0);
    expect(await invalid.innerText()).toMatch(/invalid[\s\S]*column patientName: empty/i);
    expect(await page.locator('.card[data-row="7"]').innerText()).toMatch(/skipped[\s\S]*duplicate of row 1/i);
    await page.screenshot({ path: join(art, 'gallery.png') });
  });

  it('renders the letter text inside the thumbnails', async () => {
    const body = page.frameLocator('.card[data-row="1"] .thumb iframe').locator('body');
    await body.waitFor();
    expect(await body.innerText()).toContain(jury[0]!.patientName);
    expect(await page.frameLocator('.card[data-row="2"] .thumb iframe').locator('body').innerText()).toContain('excused from school');
  });

  it('filters by status', async () => {
    await page.locator('.chip[data-status="invalid"]').click();
    expect(await rowNumbers(page)).toEqual([4]);
    expect(await page.locator('#shown').textContent()).toBe('Showing 1 of 24 rows');
    await page.locator('.chip[data-status="skipped"]').click();
    expect(await rowNumbers(page)).toEqual([7]);
    await page.locator('.chip[data-status="previewed"]').click();
    expect(await cards(page).count()).toBe(22);
    await page.locator('.chip[data-status="invalid"]').click();
    await page.screenshot({ path: join(art, 'filtered-invalid.png') });
    await page.locator('.chip[data-status=""]').click();
    expect(await cards(page).count()).toBe(24);
  });

  it('filters by any key or the row number', async () => {
    await find(page, jury[4]!.patientKey!.toUpperCase());
    expect(await rowNumbers(page)).toEqual([6]);
    await find(page, jury[4]!.patientKey!.slice(4, 14));
    expect(await rowNumbers(page)).toEqual([6]);
    await find(page, '244503d6-251b'); // a location key: every row at that location
    expect((await rowNumbers(page)).length).toBeGreaterThan(1);
    await find(page, '#12');
    expect(await rowNumbers(page)).toEqual([12]);
    await find(page, 'zzzz-no-such-row');
    expect(await cards(page).count()).toBe(0);
    expect(await page.locator('#empty').isVisible()).toBe(true);
    await find(page, '');
    expect(await cards(page).count()).toBe(24);
  });

  it("finds a patient by the name in the letter, as typed, and only that patient's letter", async () => {
    await page.locator('#q').pressSequentially(jury[0]!.patientName!, { delay: 10 }); // "Siobhán O'Brien": searched once typing stops
    await expect.poll(() => rowNumbers(page)).toEqual([1]); // row 7 (same keys, skipped) has no letter to search
    expect(await page.locator('#shown').textContent()).toBe('Showing 1 of 24 rows');
    await page.screenshot({ path: join(art, 'search-name.png') });
    await find(page, 'nunez'); // José Núñez, without the accents
    expect(await rowNumbers(page)).toEqual([5]);
    await find(page, 'ZOË brontë'); // any case; row 4 (invalid, same keys) has no letter
    expect(await rowNumbers(page)).toEqual([24]);
    await find(page, '  sofía   MARTÍNEZ '); // spaces as typed do not matter
    expect(await rowNumbers(page)).toEqual([8]);
    await find(page, "o'brien siobhan"); // every word, in any order
    expect(await rowNumbers(page)).toEqual([1]);
    await find(page, 'siobhan nunez'); // every word: no letter has both
    expect(await cards(page).count()).toBe(0);
    await find(page, '');
    expect(await cards(page).count()).toBe(24);
  });

  it('finds a letter by a date as the letter writes it', async () => {
    expect(jury[0]!.dateOfBirth).toBe('1958-03-14');
    await find(page, 'March 14, 1958');
    expect(await rowNumbers(page)).toEqual([1]);
    expect(jury[1]!.summonsDate).toBe('2026-12-07');
    await find(page, 'December 7, 2026'); // row 3's summons date: december, 7 and 2026 (other letters have a 7, or December)
    expect(await rowNumbers(page)).toEqual([3]);
    await find(page, '');
    expect(await cards(page).count()).toBe(24);
  });

  it('filters by template', async () => {
    await page.locator('#tpl').selectOption('school-note');
    expect(await rowNumbers(page)).toEqual([2, 8]);
    await page.locator('.chip[data-status="invalid"]').click();
    expect(await cards(page).count()).toBe(0);
    await page.locator('.chip[data-status=""]').click();
    await page.locator('#tpl').selectOption('');
    expect(await cards(page).count()).toBe(24);
  });

  it('opens a letter full size in an overlay that Esc closes', async () => {
    await page.locator('.card[data-row="3"] .open').click();
    const viewer = page.locator('#viewer');
    await viewer.waitFor({ state: 'visible' });
    const body = page.frameLocator('#vframe').locator('body');
    await body.waitFor();
    expect(await body.innerText()).toContain(jury[1]!.patientName);
    expect(await page.locator('#vframe').getAttribute('sandbox')).toBe('');
    expect(await page.locator('#vnew').getAttribute('href')).toBe('letters/row-00003.html');
    expect(await page.locator('#vpdf').getAttribute('href')).toBe('letters/row-00003.pdf');
    const sheet = (await page.locator('#sheet').boundingBox())!;
    expect(sheet.width).toBeGreaterThan(700);
    expect(sheet.height / sheet.width).toBeCloseTo(11 / 8.5, 2);
    await page.screenshot({ path: join(art, 'overlay.png') });
    await page.keyboard.press('ArrowRight'); // the next row with a letter (row 4 is invalid)
    await expect.poll(() => page.locator('#vtitle').textContent()).toBe('Row 5');
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    expect(await page.locator('#viewer').evaluate((d) => d.hasAttribute('open'))).toBe(false);
    await page.locator('.card[data-row="1"] .open').click();
    await page.locator('#vclose').click();
    await viewer.waitFor({ state: 'hidden' });
  });

  it('loads under its CSP from file:// with no violations', () => {
    expect(cspErrors).toEqual([]);
  });

  it('writes one US Letter PDF per previewed letter, each one page, 0600, and keeps report.csv as it was', () => {
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { rows: { row: number; status: string; pdf?: string; pdfPages?: number; preview?: string }[] };
    const previewed = report.rows.filter((r) => r.status === 'previewed');
    expect(previewed).toHaveLength(22);
    for (const r of previewed) {
      expect(r.pdf).toBe(r.preview!.replace(/\.html$/, '.pdf'));
      const file = join(out, r.pdf!);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const pdf = readFileSync(file).toString('latin1');
      expect(pdf.startsWith('%PDF-')).toBe(true);
      expect(pdf).toMatch(/\/MediaBox\s*\[\s*0 0 612 792\s*\]/);
      expect(pdf.match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length).toBe(1);
      expect(r.pdfPages).toBe(1);
    }
    expect(report.rows.filter((r) => r.pdf).length).toBe(22);
    const header = readFileSync(join(out, 'report.csv'), 'utf8').split('\n')[0];
    expect(header).toBe('row,status,patientKey,providerKey,practiceLocationKey,template,httpStatus,letterId,attempts,error,preview');
    copyFileSync(join(out, 'letters', 'row-00001.pdf'), join(art, 'jury-duty-row-00001.pdf'));
  });

  it('shows hostile values as text: nothing from a row becomes markup', async () => {
    const evil = '<img src=x onerror="document.title=1">"\'&</script><!--';
    const summary = { command: 'preview', csv: '<b>"Q&A\'<i>.csv', out: dir, startedAt: '', finishedAt: '2026-01-01T00:00:00Z', rows: 1, counts: { ...emptyCounts(), invalid: 1 }, refused: false, interrupted: false, exitCode: 1, reportCsv: '', reportJson: '' } satisfies ReportSummary;
    const row = { row: 1, status: 'invalid' as const, patientKey: evil, providerKey: 'p', practiceLocationKey: 'l', template: evil, error: evil, warnings: [evil], preview: '../../etc/passwd' };
    const plain = { ...row, row: 2, status: 'previewed' as const, patientKey: 'a', error: undefined, warnings: undefined, preview: 'letters/row-00002.html' };
    const html = renderIndexPage(summary, [row, plain], [evil], { rows: new Map([[2, `plain letter ${evil}`]]), common: new Map([[evil, evil]]) });
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('</script><!--');
    const file = join(writeTree(tempDir('cl-evil-'), { 'index.html': html, 'letters/row-00002.html': '<p>Plain letter</p>' }), 'index.html');
    const p = await browser.context.newPage();
    await p.goto(pathToFileURL(file).href);
    const card = p.locator('.card[data-row="1"]');
    await card.waitFor();
    expect(await p.locator('img').count()).toBe(0);
    expect(await card.locator('iframe').count()).toBe(0); // a path outside letters/ is never framed
    expect(await card.innerText()).toContain('<img src=x');
    expect(await p.locator('.notice.warnings').innerText()).toContain('<img src=x');
    expect(await p.title()).toContain('<b>"Q&A\'<i>.csv');
    await find(p, 'plain letter'); // the search index is data: its text is found, never run
    expect(await rowNumbers(p)).toEqual([2]);
    expect(await p.title()).toContain('<b>"Q&A\'<i>.csv');
    await find(p, '');
    await p.locator('.card[data-row="2"] .open').click(); // a letter without a PDF: no PDF button
    expect(await p.frameLocator('#vframe').locator('body').innerText()).toContain('Plain letter');
    expect(await p.locator('#vpdf').isVisible()).toBe(false);
    expect(await p.locator('.card[data-row="2"] .links').innerText()).not.toContain('PDF');
    await p.close();
  });
});
