/**
 * `<out>/index.html`: a self-contained gallery of a preview, for a person to review the batch
 * in a browser before anything is sent. Every letter is a US Letter-shaped thumbnail (a lazy,
 * sandboxed frame of `letters/row-NNNNN.html`); rows without a letter are cards with their
 * status and error. Filters by status, template, and a search over row numbers, keys and each
 * letter's text (names, dates); a click opens the letter full size. Inline CSS and JS only, no
 * network, so the folder can be archived or mailed.
 *
 * Rows travel as a JSON block that the script turns into cards with DOM APIs (textContent
 * only); the few values written as HTML here are escaped. The search index is a second JSON
 * block: each row's letter words, folded, less its template's own (`searchEntry`), built here and nowhere else (it never
 * goes to the report or a log). The CSP allows only this page's own
 * style and script (by hash), data: images, and frames of local letter files. The script and the
 * stylesheet are src/preview/browser/gallery.js and gallery.css, inlined at build time.
 */
import { createHash } from 'node:crypto';
import { PAGE_SCRIPT, PAGE_STYLE } from './browser.generated.js';
import { fold, textOf } from '../html-text.js';
import type { ReportSummary } from '../report/writer.js';
import type { LoadedTemplate } from '../templates/index.js';
import type { ReportRow } from '../types.js';

/** A report row of a preview, with its PDF when `--pdf` printed one. */
export interface PreviewRow extends ReportRow {
  /** Path of the letter's PDF relative to the output folder (`--pdf`). */
  pdf?: string;
  /** Pages in that PDF. */
  pdfPages?: number;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** JSON that is safe inside a `<script type="application/json">` block (no `</script>`, no `<!--`). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The words of a letter's visible text (no tags, head, styles or comments; references decoded), lower case without accents, so that "nunez" finds "Núñez". The page splits a search the same way. */
export function searchWords(html: string): string[] {
  return fold(textOf(html)).match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * A letter's entry in the search index: each of its words once, less the words of its template
 * (`common`: the template rendered with every field empty), which the page keeps once per
 * template and counts as in every letter of it. So the index holds mostly what the merge put in
 * (names, dates), a few dozen words a letter rather than the whole text.
 */
export function searchEntry(html: string, common: ReadonlySet<string> = new Set()): string {
  const words = new Set<string>();
  for (const w of searchWords(html)) if (!common.has(w)) words.add(w);
  return [...words].join(' ');
}

/** What the page's search looks in: each row's entry by row number, each template's common words. */
export interface SearchIndex {
  rows: ReadonlyMap<number, string>;
  common: ReadonlyMap<string, string>;
}

/** Builds the page's search index as the letters are rendered (it is only ever written into index.html). */
export class SearchIndexBuilder {
  private readonly rows = new Map<number, string>();
  private readonly common = new Map<string, Set<string>>();

  add(row: number, template: Pick<LoadedTemplate, 'name' | 'ownText'>, html: string): void {
    this.rows.set(row, searchEntry(html, this.commonOf(template)));
  }

  index(): SearchIndex {
    return { rows: this.rows, common: new Map([...this.common].map(([name, words]) => [name, [...words].join(' ')])) };
  }

  /** A template's own words (none if it cannot render with its fields empty). */
  private commonOf(template: Pick<LoadedTemplate, 'name' | 'ownText'>): Set<string> {
    let words = this.common.get(template.name);
    if (words === undefined) {
      const own = template.ownText();
      words = new Set(own === undefined ? [] : searchWords(own));
      this.common.set(template.name, words);
    }
    return words;
  }
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/**
 * `frame-src 'self'` lets Chromium frame sibling files under file:// (it treats every file: URL
 * as 'self'); `file:` is added for browsers that give each local file its own origin, where
 * 'self' alone would block the letters. Served over http(s), only same-origin frames load.
 */
export const INDEX_CSP = [
  "default-src 'none'",
  `style-src ${sha256(PAGE_STYLE)}`,
  `script-src ${sha256(PAGE_SCRIPT)}`,
  'img-src data:',
  "frame-src 'self' file:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** A letter path the page may frame or link to: only our own `letters/row-NNNNN.(html|pdf)`. */
const LETTER_PATH = /^letters\/row-\d+\.(html|pdf)$/;

/** An approval of the preview (approval.json), shown at the top of the page; its excluded rows are marked. */
export interface GalleryApproval {
  approver: string;
  /** ISO time. */
  approvedAt: string;
  approved: number;
  excluded: readonly number[];
}

/** What the page's script gets for each row. */
interface PageRow {
  row: number;
  status: string;
  keys: [string, string, string];
  template: string;
  error?: string;
  warnings?: string[];
  preview?: string;
  pdf?: string;
  pdfPages?: number;
  /** Left out of the approval (`approve --exclude`). */
  excluded?: true;
}

function pageRow(r: ReportRow & Partial<Pick<PreviewRow, 'pdf' | 'pdfPages'>>, excluded: ReadonlySet<number>): PageRow {
  const own = (p: string | undefined) => (p && LETTER_PATH.test(p) ? p : undefined);
  const preview = own(r.preview);
  const pdf = own(r.pdf);
  return {
    row: r.row,
    status: r.status,
    keys: [r.patientKey, r.providerKey, r.practiceLocationKey],
    template: r.template,
    ...(r.error ? { error: r.error } : {}),
    ...(r.warnings?.length ? { warnings: r.warnings } : {}),
    ...(preview ? { preview } : {}),
    ...(pdf ? { pdf, ...(r.pdfPages ? { pdfPages: r.pdfPages } : {}) } : {}),
    ...(excluded.has(r.row) ? { excluded: true as const } : {}),
  };
}

const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect x='2.5' y='1' width='11' height='14' rx='1' fill='%23fff' stroke='%232b5d8a'/%3E%3Cpath d='M5 5h6M5 8h6M5 11h4' stroke='%232b5d8a'/%3E%3C/svg%3E";

function when(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

function fileName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

function approvalNotice(a: GalleryApproval): string {
  const excluded = a.excluded.length ? `; ${a.excluded.length} excluded (marked below)` : '';
  return (
    `<div class="notice approved" id="approval" role="status"><strong>Approved</strong> by <strong>${escapeHtml(a.approver)}</strong> ` +
    `on ${escapeHtml(when(a.approvedAt))}: ${a.approved} letter${a.approved === 1 ? '' : 's'}${excluded} (approval.json)</div>`
  );
}

function notices(summary: ReportSummary, warnings: readonly string[], approval?: GalleryApproval): string {
  const out: string[] = approval ? [approvalNotice(approval)] : [];
  if (summary.refused) {
    const invalid = summary.counts.invalid;
    out.push(
      `<div class="notice refused" role="alert"><strong>Nothing was previewed.</strong> The file has ${invalid} invalid row${invalid === 1 ? '' : 's'}: fix ${invalid === 1 ? 'it' : 'them'}, or run again with --skip-invalid.</div>`,
    );
  }
  if (warnings.length) {
    out.push(
      `<div class="notice warnings"><strong>${warnings.length} warning${warnings.length === 1 ? '' : 's'}</strong><ul>${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`,
    );
  }
  return out.join('\n');
}

const VIEWER = `<dialog class="viewer" id="viewer" aria-labelledby="vtitle">
<div class="vbar">
<span class="vtitle" id="vtitle"></span><span class="badge" id="vbadge"></span><span class="vkey" id="vkey"></span>
<span class="sp"></span>
<button type="button" id="vprev" aria-label="Previous letter" title="Previous letter (←)">‹</button>
<button type="button" id="vnext" aria-label="Next letter" title="Next letter (→)">›</button>
<a id="vpdf" target="_blank" rel="noopener" hidden>PDF</a>
<a id="vnew" target="_blank" rel="noopener">Open in new tab ↗</a>
<button type="button" class="close" id="vclose" aria-label="Close (Esc)" title="Close (Esc)">×</button>
</div>
<div class="vbody" id="vbody"><div class="sheet" id="sheet"><iframe id="vframe" sandbox="" src="about:blank" title="Letter"></iframe></div></div>
</dialog>`;

/**
 * The page. `search` holds each letter's `searchEntry` by row number (rows without one are found
 * by row number and keys only) and each template's common words. With `approval` (written by
 * `approve`), the page says who approved the batch and when, and marks the excluded rows.
 */
export function renderIndexPage(
  summary: ReportSummary,
  rows: readonly (ReportRow & Partial<Pick<PreviewRow, 'pdf' | 'pdfPages'>>)[],
  warnings: readonly string[],
  search: SearchIndex = { rows: new Map(), common: new Map() },
  approval?: GalleryApproval,
): string {
  const excluded = new Set(approval?.excluded ?? []);
  const csv = escapeHtml(fileName(summary.csv));
  const letters = rows.filter((r) => r.preview).length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(INDEX_CSP)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Preview · ${csv}</title>
<link rel="icon" href="${FAVICON}">
<style>${PAGE_STYLE}</style>
</head>
<body>
<header class="top">
<h1>Preview <span class="file" title="${escapeHtml(summary.csv)}">${csv}</span></h1>
<p class="meta">${summary.rows} row${summary.rows === 1 ? '' : 's'} · ${letters} letter${letters === 1 ? '' : 's'} · ${escapeHtml(when(summary.finishedAt))} · report: <a href="report.csv">report.csv</a>, <a href="report.json">report.json</a></p>
</header>
${notices(summary, warnings, approval)}
<nav class="toolbar" aria-label="Filters">
<div class="chips" id="chips" role="group" aria-label="Status"></div>
<div class="filters">
<input type="search" id="q" placeholder="Find a name, date, row or key…" title="Part of the letter's text (a name, a date as the letter writes it: any case, accents optional), a row number (#12), or part of a patient, provider or location key (press / to search)" aria-label="Find by letter text, row number, patient, provider or location key" autocomplete="off" spellcheck="false">
<select id="tpl" aria-label="Template"><option value="">All templates</option></select>
</div>
<p class="shown" id="shown" aria-live="polite"></p>
</nav>
<noscript><div class="notice warnings">This page needs JavaScript to show the letters. They are in the letters folder; every row is in report.csv.</div></noscript>
<main class="grid" id="grid"></main>
<p class="empty" id="empty" hidden>No rows match these filters.</p>
<div class="more" id="more"></div>
${VIEWER}
<script type="application/json" id="rows-data">${scriptJson(rows.map((r) => pageRow(r, excluded)))}</script>
<script type="application/json" id="search-data">${scriptJson({ common: Object.fromEntries(search.common), rows: rows.map((r) => search.rows.get(r.row) ?? '') })}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
