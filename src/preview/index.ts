/**
 * `preview`: validate every row, then render each valid letter (CSS inlined) to
 * `<out>/letters/`, write `<out>/index.html` for a person to review the batch, and the
 * report. Never touches the network. With `pdf`, each letter is also printed to a US Letter
 * PDF by headless Chromium (a local process, its page cut off from the network).
 */
import { join } from 'node:path';
import { BatchBuilder, type BatchOptions } from '../approve/batch.js';
import { planRows } from '../plan/replay.js';
import { letterFileName, prepareOutDir } from '../report/out-dir.js';
import { refusedRow, reportRow } from '../report/rows.js';
import { ChromiumMissingError, findChromium } from './chromium.js';
import { UsageError } from '../errors.js';
import { writePrivateFile } from '../fsutil.js';
import { findRemoteImages } from '../templates/inline.js';
import type { PdfPrinter } from './pdf.js';
import { renderIndexPage, SearchIndexBuilder, type PreviewRow } from './gallery.js';

export type { PreviewRow } from './gallery.js';
import { ReportWriter, type ReportSummary } from '../report/writer.js';
import type { RowStatus } from '../types.js';
import { validateBatch, type Plan, type ValidateOptions } from '../plan/validate.js';

/** A report row of a preview: report.json also records the print check (report.csv keeps the contract's columns). */
export interface PreviewOptions extends ValidateOptions {
  /** Output folder for the report, letters and index.html. */
  out: string;
  /** Write letter files and index.html (default true; `--no-files` sets false). */
  files?: boolean;
  /** Preview the valid rows even when some rows are invalid. */
  skipInvalid?: boolean;
  /** Preview at most this many letters; later ready rows are `not_attempted`. */
  limit?: number;
  /**
   * Also print each letter to `letters/row-NNNNN.pdf` (US Letter) with headless Chromium.
   * Needs `files`; throws ChromiumMissingError, before reading or writing anything, when
   * Chromium is not installed.
   */
  pdf?: boolean;
  /** Environment used to find Chromium (CHROMIUM_PATH); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** The config file and job the options came from, for the summary. */
  configUsed?: ReportSummary['config'];
  /** Called once validation is done, before any output is written. */
  onValidated?: (plan: Plan) => void;
  /** Called as each row's outcome is known (report.json also gets `pdf` and `pdfPages`). */
  onRow?: (row: PreviewRow) => void;
}

export interface PreviewResult {
  plan: Plan;
  summary: ReportSummary;
}

export async function preview(opts: PreviewOptions): Promise<PreviewResult> {
  const startedAt = new Date().toISOString();
  const files = opts.files !== false;
  if (opts.pdf && !files) throw new UsageError('--pdf prints the letter files', 'drop --no-files, or --pdf');
  if (opts.pdf && !findChromium(opts.env)) throw new ChromiumMissingError();
  const plan = await validateBatch(opts);
  opts.onValidated?.(plan);
  const refused = plan.invalid > 0 && !opts.skipInvalid;

  // Launch the browser before writing anything, so a browser that will not start leaves no output.
  const printer = opts.pdf && !refused && plan.ready > 0 ? await openPrinter(opts.env) : undefined;
  try {
    prepareOutDir(opts.out);
    const report = new ReportWriter(opts.out);
    // The gallery's search index: only ever written into index.html.
    const texts = new SearchIndexBuilder();
    const batch = new BatchBuilder();
    const summary = await writeOutput(opts, plan, { refused, startedAt }, { report, texts, batch }, printer);
    if (files) {
      writePrivateFile(join(opts.out, 'index.html'), renderIndexPage(summary, report.sortedRows(), plan.warnings, texts.index()));
      // Last: a batch.json means a complete preview, sealed.
      if (!refused) batch.write(opts.out, { csv: opts.csv, csvSha256: plan.csvSha256, templates: plan.templates, options: batchOptions(opts), warnings: plan.warnings, createdAt: startedAt });
    }
    return { plan, summary };
  } finally {
    await printer?.close();
  }
}

/** The options that shaped the letters, for batch.json. */
function batchOptions(opts: PreviewOptions): BatchOptions {
  return {
    ...(opts.template !== undefined && { template: opts.template }),
    map: { ...opts.map },
    ...(opts.provider !== undefined && { provider: opts.provider }),
    ...(opts.location !== undefined && { location: opts.location }),
    ...(opts.dateInput !== undefined && { dateInput: opts.dateInput }),
    lookup: opts.lookup !== undefined,
  };
}

async function openPrinter(env: NodeJS.ProcessEnv | undefined): Promise<PdfPrinter> {
  const { PdfPrinter } = await import('./pdf.js');
  return PdfPrinter.open(env ? { env } : {});
}

async function writeOutput(
  opts: PreviewOptions,
  plan: Plan,
  run: { refused: boolean; startedAt: string },
  { report, texts, batch }: { report: ReportWriter; texts: SearchIndexBuilder; batch: BatchBuilder },
  printer: PdfPrinter | undefined,
): Promise<ReportSummary> {
  const files = opts.files !== false;
  const add = (row: PreviewRow) => {
    report.add(row);
    opts.onRow?.(row);
  };

  let previewed = 0;
  // With letter files, the pass checks it read validation's bytes: the CSV sha256 batch.json seals.
  for await (const { planned, letter } of planRows(plan, { sameBytes: files && !run.refused })) {
    if (run.refused) add(refusedRow(plan, planned));
    else if (!letter) add(reportRow(planned, planned.status as RowStatus));
    else if (opts.limit !== undefined && previewed >= opts.limit) add(reportRow(planned, 'not_attempted', { error: `over --limit ${opts.limit}` }));
    else {
      previewed++;
      const html = letter.template.renderLetter(letter.data);
      const remote = findRemoteImages(html);
      const warnings = remote.length > 0 ? [`${remote.length} remote image${remote.length === 1 ? '' : 's'}: Canvas and printers may not load ${remote.length === 1 ? 'it' : 'them'}`] : [];
      const extra: Partial<PreviewRow> = {};
      if (files) {
        extra.preview = letterFileName(planned.row);
        writePrivateFile(join(opts.out, extra.preview), html);
        texts.add(planned.row, letter.template, html);
        batch.add({ row: planned.row, letterKey: planned.letterKey!, keys: planned.keys, template: letter.template.name, file: extra.preview }, html);
      }
      if (printer) Object.assign(extra, await printPdf(printer, html, opts.out, planned.row, warnings));
      add({ ...reportRow(planned, 'previewed', extra), ...(warnings.length ? { warnings } : {}) });
    }
  }

  return report.close({
    command: 'preview',
    csv: opts.csv,
    out: opts.out,
    ...run,
    interrupted: false,
    ...(opts.configUsed && { config: opts.configUsed }),
  });
}

/** Print one letter; a letter that fails to print gets a warning rather than ending the run. */
async function printPdf(printer: PdfPrinter, html: string, out: string, row: number, warnings: string[]): Promise<Partial<PreviewRow>> {
  const { pdfPageCount } = await import('./pdf.js');
  let bytes: Buffer;
  try {
    bytes = await printer.print(html);
  } catch (err) {
    warnings.push(`PDF not written: ${(err as Error).message.split('\n')[0]}`);
    return {};
  }
  const pdf = letterFileName(row, 'pdf');
  writePrivateFile(join(out, pdf), bytes);
  return { pdf, pdfPages: pdfPageCount(bytes) };
}
