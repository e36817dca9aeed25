/**
 * The pages' browser code is inlined at build time (scripts/inline-browser.js): each real file
 * after its header comment goes into the page exactly as written, and the gallery's CSP allows
 * exactly what is inlined.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INDEX_CSP, renderIndexPage } from '../src/preview/gallery.js';
import { INBOX_PAGE } from '../src/sandbox/page.js';
import { ROOT } from './support/cli.js';
import type { ReportSummary } from '../src/report/writer.js';

const source = (path: string) => readFileSync(join(ROOT, path), 'utf8');
/** What a browser source contributes to its page: everything after its header comment. */
const body = (path: string) => source(path).replace(/^\/\*[\s\S]*?\*\/\n/, '');
const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
/** The text of the page's one inline element with this tag. */
function inline(page: string, tag: 'script' | 'style'): string {
  const found = [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))];
  expect(found).toHaveLength(1);
  return found[0]![1]!;
}

const summary = {
  csv: 'batch.csv',
  rows: 0,
  counts: { invalid: 0 },
  finishedAt: '2026-01-01T00:00:00.000Z',
  refused: false,
} as unknown as ReportSummary;

describe('browser code inlined at build time', () => {
  it('puts gallery.js and gallery.css into the gallery as written, allowed by their hashes', () => {
    const page = renderIndexPage(summary, [], []);
    const script = inline(page, 'script');
    const style = inline(page, 'style');
    expect(script).toBe(body('src/preview/browser/gallery.js'));
    expect(style).toBe(body('src/preview/browser/gallery.css'));
    expect(script).toContain(String.raw`' \u00b7 '`);
    expect(INDEX_CSP).toContain(`script-src ${hash(script)}`);
    expect(INDEX_CSP).toContain(`style-src ${hash(style)}`);
  });

  it('puts inbox.css into the inbox page as written, and joins the script parts in one function scope', () => {
    expect(inline(INBOX_PAGE, 'style')).toBe(body('src/sandbox/browser/inbox.css'));
    const parts = ['inbox', 'inbox-viewer', 'inbox-faults', 'inbox-start'].map((p) => body(`src/sandbox/browser/${p}.js`));
    expect(inline(INBOX_PAGE, 'script')).toBe(`(function () {${parts.join('')}})();`);
  });
});
