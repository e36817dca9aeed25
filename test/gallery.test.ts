/**
 * The gallery's search index (src/preview/gallery.ts): each letter's text as the page searches
 * it, and the JSON block that carries it, which no letter text can break out of.
 */
import { describe, expect, it } from 'vitest';
import { renderIndexPage, SearchIndexBuilder, searchEntry, searchWords } from '../src/preview/gallery.js';
import type { ReportSummary } from '../src/report/writer.js';
import { emptyCounts } from '../src/types.js';

const summary = { command: 'preview', csv: 'batch.csv', out: 'out', startedAt: '', finishedAt: '2026-01-01T00:00:00Z', rows: 2, counts: { ...emptyCounts(), previewed: 2 }, refused: false, interrupted: false, exitCode: 0, reportCsv: '', reportJson: '' } satisfies ReportSummary;
const row = (n: number) => ({ row: n, status: 'previewed' as const, patientKey: `p${n}`, providerKey: 'v', practiceLocationKey: 'l', template: 't', preview: `letters/row-0000${n}.html` });
const index = (html: string) => html.match(/<script type="application\/json" id="search-data">([\s\S]*?)<\/script>/)![1]!;

const search = (rows: [number, string][], common: [string, string][] = []) => ({ rows: new Map(rows), common: new Map(common) });
const template = (body: string) => ({
  name: 't',
  renderLetter: (data: Record<string, string>) => body.replaceAll('{{name}}', data.name ?? ''),
  ownText: () => body.replaceAll('{{name}}', ''),
});

describe('gallery search index', () => {
  it('splits the visible text of a letter into folded words: no head, styles, comments or tags, references decoded', () => {
    const html = '<html><head><title>Excuse</title><style>p { color: red }</style></head><body><!-- draft -->\n<p>Dear  <b>José&nbsp;NÚÑEZ</b>,</p>\n<p>born March&#32;14, 1958 &amp; more</p></body></html>';
    expect(searchWords(html)).toEqual(['dear', 'jose', 'nunez', 'born', 'march', '14', '1958', 'more']);
  });

  it("keeps each word of a letter once, less its template's own words", () => {
    expect(searchEntry('<p>Dear Ann Lee, dear Ann: the court</p>', new Set(['dear', 'the', 'court']))).toBe('ann lee');
    const builder = new SearchIndexBuilder();
    const t = template('<p>Dear {{name}}, please excuse {{name}} from jury service.</p>');
    builder.add(1, t, t.renderLetter({ name: 'Siobhán O\'Brien' }));
    builder.add(2, t, t.renderLetter({ name: 'Please Dear' }));
    const index = builder.index();
    expect(index.rows).toEqual(new Map([[1, 'siobhan o brien'], [2, '']]));
    expect(index.common.get('t')).toBe('dear please excuse from jury service');
  });

  it('keeps every word of a letter whose template cannot render with its fields empty', () => {
    const builder = new SearchIndexBuilder();
    const t = { ...template('<p>Dear {{name}}</p>'), ownText: () => undefined };
    builder.add(1, t, t.renderLetter({ name: 'Ann' }));
    expect(builder.index().rows.get(1)).toBe('dear ann');
  });

  it('gives the page one entry per row, in the rows\' order, empty for rows without a letter, and the common words by template', () => {
    const page = renderIndexPage(summary, [row(1), { ...row(2), status: 'invalid' as const, preview: undefined }, row(3)], [], search([[3, 'three'], [1, 'one']], [['t', 'dear']]));
    expect(JSON.parse(index(page))).toEqual({ common: { t: 'dear' }, rows: ['one', '', 'three'] });
    expect(JSON.parse(index(renderIndexPage(summary, [row(1)], [])))).toEqual({ common: {}, rows: [''] });
  });

  it('escapes the index so that nothing in a letter or a template name ends the block or opens markup', () => {
    const hostile = '</script><script>alert(1)</script><!-- \u2028 &';
    const block = index(renderIndexPage(summary, [row(1)], [], search([[1, hostile]], [[hostile, hostile]])));
    expect(block).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(block)).toEqual({ common: { [hostile]: hostile }, rows: [hostile] });
  });
});
