/** `canvas-letters preview`: validate and render every row, write the previews and the report. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppliedConfig } from './config.js';
import { retryBaseFromEnv } from './send.js';
import { batchInput, printPlanNotes, printSummary, say, type BatchFlags } from './shared.js';

export type PreviewFlags = BatchFlags & { files: boolean; pdf?: boolean };

export async function runPreview(csv: string, flags: PreviewFlags, config?: AppliedConfig): Promise<number> {
  if (flags.pdf) {
    // Before anything is read or printed: a missing browser is the first and only message.
    const { ChromiumMissingError, findChromium } = await import('../preview/chromium.js');
    if (!findChromium()) throw new ChromiumMissingError();
  }
  const { preview } = await import('../preview/index.js');
  const lookup = flags.lookup ? await openLookup(flags.concurrency, flags.timeout * 1000) : undefined;
  const pdfs = { printed: 0, long: 0 };
  const run = preview({
    ...(await batchInput(csv, flags)),
    lookup: lookup?.directory,
    files: flags.files,
    skipInvalid: flags.skipInvalid,
    limit: flags.limit,
    pdf: flags.pdf,
    ...(config && { configUsed: config.used }),
    onValidated: printPlanNotes,
    onRow: (row) => {
      if (row.pdf) pdfs.printed++;
      if ((row.pdfPages ?? 0) > 1) pdfs.long++;
    },
  });
  const { plan, summary } = await run.finally(() => lookup?.close());
  if (summary.refused) {
    say(`${csv}: ${plan.invalid} invalid row${plan.invalid === 1 ? '' : 's'}; nothing was previewed (fix them, or use --skip-invalid)`);
  }
  if (flags.pdf && !summary.refused) {
    const long = pdfs.long ? `; ${pdfs.long} run${pdfs.long === 1 ? 's' : ''} over one page` : '';
    say(`pdf: ${pdfs.printed} of ${summary.counts.previewed} letters printed to US Letter PDFs${long}`);
  }
  const gallery = join(summary.out, 'index.html');
  await printSummary(summary, flags.json, flags.files && existsSync(gallery) ? { gallery } : {});
  return summary.exitCode;
}

/**
 * `preview --lookup`: a read-only FHIR directory with its own token (preview never sends),
 * wired as send's, with the retry base of CANVAS_LETTERS_RETRY_BASE_MS.
 */
async function openLookup(concurrency: number, timeoutMs: number) {
  const [{ loadConfig, HttpClient, TokenSource }, { openDirectory }] = await Promise.all([import('../canvas/index.js'), import('../lookup/index.js')]);
  const config = loadConfig();
  const retryBaseDelayMs = retryBaseFromEnv();
  const http = new HttpClient({ concurrency, timeoutMs });
  const tokens = new TokenSource(http, config, { timeoutMs });
  const directory = openDirectory({ config, http, tokens, concurrency, timeoutMs, retryBaseDelayMs });
  say(`--lookup: reading patients, providers and locations from ${directory.fhirBase.host} (read-only; preview never sends)`);
  return { directory, close: () => http.close() };
}
