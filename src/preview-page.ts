/**
 * `<out>/index.html`: one self-contained page (no scripts from elsewhere, no network) that
 * lists every row of a preview (status, keys, template, letter link, warnings or error)
 * so a person can review the batch in a browser before anything is sent.
 */
import type { ReportSummary } from './report.js';
import { STATUSES, type ReportRow } from './types.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem; color: #1d2330; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.meta { color: #5b6475; margin: 0 0 1rem; }
.counts span { display: inline-block; margin: 0 .5rem .5rem 0; padding: .15rem .6rem; border-radius: 1rem; background: #eef1f6; }
.warnings { background: #fff8e1; border: 1px solid #f1d48a; padding: .5rem 1rem; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e7ee; vertical-align: top; }
th { background: #f6f8fb; position: sticky; top: 0; }
td.keys { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.status { font-weight: 600; }
.status-previewed, .status-sent { color: #1b7a3a; }
.status-skipped { color: #5b6475; }
.status-invalid, .status-failed, .status-unknown { color: #b3261e; }
.status-not_attempted { color: #8a5a00; }
`;

export function renderIndexPage(summary: ReportSummary, rows: readonly ReportRow[], warnings: readonly string[]): string {
  const counts = STATUSES.filter((s) => summary.counts[s] > 0)
    .map((s) => `<span class="status-${s}">${summary.counts[s]} ${s}</span>`)
    .join('');
  const notes = warnings.length
    ? `<div class="warnings"><strong>Warnings</strong><ul>${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`
    : '';
  const body = rows.map(rowHtml).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'">
<title>canvas-letters preview: ${escapeHtml(summary.csv)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Preview of ${escapeHtml(summary.csv)}</h1>
<p class="meta">${summary.rows} rows, ${escapeHtml(summary.finishedAt)}. Report: report.csv, report.json</p>
<p class="counts">${counts}</p>
${notes}
<table>
<thead><tr><th>Row</th><th>Status</th><th>Keys (patient / provider / location)</th><th>Template</th><th>Letter</th><th>Notes</th></tr></thead>
<tbody>
${body}
</tbody>
</table>
</body>
</html>
`;
}

function rowHtml(r: ReportRow): string {
  const keys = [r.patientKey, r.providerKey, r.practiceLocationKey].map(escapeHtml).join('<br>');
  const link = r.preview ? `<a href="${escapeHtml(r.preview)}">open</a>` : '';
  const notes = [...(r.warnings ?? []), ...(r.error ? [r.error] : [])].map(escapeHtml).join('<br>');
  return `<tr class="row-${r.status}"><td>${r.row}</td><td class="status status-${r.status}">${r.status}</td><td class="keys">${keys}</td><td>${escapeHtml(r.template)}</td><td>${link}</td><td>${notes}</td></tr>`;
}
