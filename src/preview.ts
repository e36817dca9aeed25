/**
 * `preview`: validate every row, then render each valid letter (CSS inlined) to
 * `<out>/letters/`, write `<out>/index.html` for a person to review the batch, and the
 * report. Never touches the network.
 */
import { join } from 'node:path';
import { letterFileName, prepareOutDir, readyLetters, refusedRows, reportRow, settledRows } from './batch.js';
import { writePrivateFile } from './fsutil.js';
import { findRemoteImages } from './inline.js';
import { renderIndexPage } from './preview-page.js';
import { ReportWriter, type ReportSummary } from './report.js';
import type { ReportRow } from './types.js';
import { validateBatch, type Plan, type ValidateOptions } from './validate.js';

export interface PreviewOptions extends ValidateOptions {
  /** Output folder for the report, letters and index.html. */
  out: string;
  /** Write letter files and index.html (default true; `--no-files` sets false). */
  files?: boolean;
  /** Preview the valid rows even when some rows are invalid. */
  skipInvalid?: boolean;
  /** Called once validation is done, before any output is written. */
  onValidated?: (plan: Plan) => void;
  /** Called as each row's outcome is known. */
  onRow?: (row: ReportRow) => void;
}

export interface PreviewResult {
  plan: Plan;
  summary: ReportSummary;
}

export async function preview(opts: PreviewOptions): Promise<PreviewResult> {
  const startedAt = new Date().toISOString();
  const plan = await validateBatch(opts);
  opts.onValidated?.(plan);
  const refused = plan.invalid > 0 && !opts.skipInvalid;
  const files = opts.files !== false;

  prepareOutDir(opts.out);
  const report = new ReportWriter(opts.out);
  const add = (row: ReportRow) => {
    report.add(row);
    opts.onRow?.(row);
  };

  if (refused) {
    refusedRows(plan).forEach(add);
  } else {
    // Rows validation settled (invalid, duplicates) go in between, so report.csv is in row order.
    const settled = settledRows(plan);
    let next = 0;
    const addSettledBefore = (row: number) => {
      while (next < settled.length && settled[next]!.row < row) add(settled[next++]!);
    };
    for await (const { planned, template, data } of readyLetters(plan)) {
      addSettledBefore(planned.row);
      const html = template.renderLetter(data);
      const remote = findRemoteImages(html);
      const warnings = remote.length > 0 ? [`${remote.length} remote image${remote.length === 1 ? '' : 's'}: Canvas and printers may not load ${remote.length === 1 ? 'it' : 'them'}`] : [];
      let preview: string | undefined;
      if (files) {
        preview = letterFileName(planned.row);
        writePrivateFile(join(opts.out, preview), html);
      }
      add(reportRow(planned, 'previewed', { ...(preview ? { preview } : {}), ...(warnings.length ? { warnings } : {}) }));
    }
    addSettledBefore(Infinity);
  }

  const summary = await report.close({
    command: 'preview',
    csv: opts.csv,
    out: opts.out,
    startedAt,
    refused,
    interrupted: false,
  });
  if (files) {
    writePrivateFile(join(opts.out, 'index.html'), renderIndexPage(summary, report.sortedRows(), plan.warnings));
  }
  return { plan, summary };
}
