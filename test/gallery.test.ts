/**
 * The gallery's search index (src/preview/gallery.ts): each letter's text as the page searches
 * it, and the JSON block that carries it, which no letter text can break out of.
 */
import { describe, expect, it } from 'vitest';
import { renderIndexPage, searchText } from '../src/preview/gallery.js';
import type { ReportSummary } from '../src/report/writer.js';
import { emptyCounts } from '../src/types.js';

const summary = { command: 'preview', csv: 'batch.csv', out: 'out', startedAt: '', finishedAt: '2026-01-01T00:00:00Z', rows: 2, counts: { ...emptyCounts(), previewed: 2 }, refused: false, interrupted: false, exitCode: 0, reportCsv: '', reportJson: '' } satisfies ReportSummary;
const row = (n: number) => ({ row: n, status: 'previewed' as const, patientKey: `p${n}`, providerKey: 'v', practiceLocationKey: 'l', template: 't', preview: `letters/row-0000${n}.html` });
const index = (html: string) => html.match(/<script type="application\/json" id="search-data">([\s\S]*?)<\/script>/)![1]!;

describe('gallery search index', () => {
  it('is the visible text of a letter: no head, styles, comments or tags, references decoded, spaces collapsed, folded', () => {
    const html = '<html><head><title>Excuse</title><style>p { color: red }</style></head><body><!-- draft -->\n<p>Dear  <b>José&nbsp;NÚÑEZ</b>,</p>\n<p>born March&#32;14, 1958 &amp; more</p></body></html>';
    expect(searchText(html)).toBe('dear jose nunez , born march 14, 1958 & more');
  });

  it('gives the page one text per row, in the rows\' order, empty for rows without a letter', () => {
    const page = renderIndexPage(summary, [row(1), { ...row(2), status: 'invalid' as const, preview: undefined }, row(3)], [], new Map([[3, 'three'], [1, 'one']]));
    expect(JSON.parse(index(page))).toEqual(['one', '', 'three']);
    expect(JSON.parse(index(renderIndexPage(summary, [row(1)], [])))).toEqual(['']);
  });

  it('escapes the text so that nothing in a letter ends the block or opens markup', () => {
    const hostile = searchText('<p>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- \u2028 &amp;</p>');
    expect(hostile).toContain('</script><script>');
    const block = index(renderIndexPage(summary, [row(1)], [], new Map([[1, hostile]])));
    expect(block).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(block)).toEqual([hostile]);
  });
});
