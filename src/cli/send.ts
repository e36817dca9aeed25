/**
 * `canvas-letters send <csv>`: configuration, confirmation, progress and Ctrl-C handling
 * around the library's `send`. A first Ctrl-C stops starting letters and lets the requests
 * in flight finish and be recorded (exit 130 when there were letters to send); a second one
 * exits at once, leaving those letters pending in the ledger (reported `unknown` by the next run).
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../errors.js';
import { showName } from '../escape.js';
import type { Plan } from '../plan/validate.js';
import type { Preflight, Refusal, WriteFailure } from '../send/index.js';
import type { SendProgress } from '../send/pass.js';
import type { AppliedConfig } from './config.js';
import { batchInput, ledgerInput, printPlanNotes, printSummary, say, type SendFlags } from './shared.js';
import { changedNote } from '../report/rows.js';

export async function runSend(csv: string | undefined, flags: SendFlags, config?: AppliedConfig): Promise<number> {
  if (csv !== undefined && flags.approved !== undefined) {
    throw new UsageError('send takes a <csv> or --approved <preview-dir>, not both', 'nothing was sent; an approved batch names its own CSV');
  }
  if (csv === undefined && flags.approved === undefined) {
    throw new UsageError('send needs a <csv>, or --approved <preview-dir>', 'e.g. canvas-letters send letters.csv, or canvas-letters send --approved out/letters-20260105-093000');
  }
  const interactive = process.stdin.isTTY === true;
  if (!flags.yes && !interactive) {
    throw new UsageError('send needs --yes when standard input is not a terminal', 'nothing was sent; add --yes to confirm non-interactively');
  }
  // Sending changed letters again is a deliberate act: a config file's "yes" does not confirm it.
  const yes = flags.yes === true && !(flags.resendChanged === true && config?.set.includes('yes') === true);
  if (!yes && !interactive) {
    throw new UsageError(
      "send --resend-changed needs --yes on the command line when standard input is not a terminal (the config file's \"yes\" does not confirm sending letters again)",
      'nothing was sent; add --yes to confirm',
    );
  }
  const [{ send, sendApproved }, { loadConfig }, { createProgressView }] = await Promise.all([
    import('../send/index.js'),
    import('../canvas/index.js'),
    import('./progress.js'),
  ]);
  const ledger = await ledgerInput(flags, config?.ledger);

  const interrupt = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      say('\ninterrupted: finishing the requests in flight and writing the report (Ctrl-C again to exit at once)');
      interrupt.abort();
    } else {
      say('exiting at once: letters in flight stay pending in the ledger and will be reported unknown');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  let view: Awaited<ReturnType<typeof createProgressView>> | undefined;
  try {
    const common = {
      ...sendTuning(flags),
      resendChanged: flags.resendChanged === true, // send only: never a watch's or a job's setting
      ...ledger,
      config: () => loadConfig(), // only once there is something to send
      ...(config && { configUsed: config.used }),
      signal: interrupt.signal,
      confirm: async (p: Preflight) => {
        if (yes) say(describe(p));
        else if (!(await ask(p))) return false;
        view = await createProgressView(p.toSend, process.stderr.isTTY === true);
        return true;
      },
      onProgress: (p: SendProgress) => view?.update(p),
    };
    let note: string | undefined;
    let result: Awaited<ReturnType<typeof sendApproved>>;
    if (csv !== undefined) {
      const sent = await send({ ...(await batchInput(csv, flags)), ...common, onValidated: printPlanNotes });
      note = refusalNote(sent.refusal, csv, sent.plan);
      result = sent;
    } else {
      const onChecked = (warnings: readonly string[]) => warnings.forEach((w) => say(`warning: ${w}`));
      result = await sendApproved({ ...common, ...(await approvedInput(flags.approved!, flags)), onChecked });
    }
    const { summary, writeFailure } = result;
    view?.stop();
    if (note !== undefined) say(note);
    await printSummary(summary, flags.json);
    if (writeFailure) printWriteFailure(writeFailure, summary.reportCsv, summary.reportJson);
    return summary.exitCode;
  } finally {
    view?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/**
 * An approved batch's run: its report goes to --out, else to the default folder named after the
 * batch's CSV. The batch is checked by the library (sendApproved); its notes are said here.
 */
async function approvedInput(dir: string, flags: SendFlags): Promise<{ approved: string; out: string }> {
  const [{ readBatch }, { defaultOutDir }] = await Promise.all([import('../approve/batch.js'), import('../report/out-dir.js')]);
  const { batch } = readBatch(dir);
  return { approved: dir, out: resolve(flags.out ?? defaultOutDir(batch.csv.path)) };
}

/** The line said before the summary of a refused run, if any (the summary's stop reason says the rest). */
function refusalNote(refusal: Refusal | undefined, csv: string, plan: Plan): string | undefined {
  switch (refusal) {
    case 'invalid-rows':
      return `${csv}: ${plan.invalid} invalid row${plan.invalid === 1 ? '' : 's'}; nothing was sent (fix them, or use --skip-invalid)`;
    case 'not-confirmed':
    case 'credentials':
    case undefined:
      return undefined;
  }
}

/** What a run stopped by a write failure could not record, row by row, and where the rest is. */
export function printWriteFailure(w: WriteFailure, reportCsv: string, reportJson: string): void {
  if (w.unrecorded.length > 0) {
    say(`not recorded in the ledger (${w.unrecorded.length} row${w.unrecorded.length === 1 ? '' : 's'}; the next run reports ${w.unrecorded.length === 1 ? 'it' : 'them'} unknown):`);
    for (const u of w.unrecorded) say(`  row ${u.row}, letter key ${u.letterKey}: ${u.outcome}`);
    say('a row marked sent was created in Canvas: never send it again with --resend-unknown; record it with canvas-letters ledger resolve <letter key> --sent --by <name>');
    say('check the chart for any other, then record what you found with canvas-letters ledger resolve <letter key> --sent or --not-sent --by <name>');
  }
  if (w.unreported > 0) {
    say(`${w.unreported} row${w.unreported === 1 ? ' is' : 's are'} missing from ${showName(reportCsv)}: every letter recorded as sent is in the ledger (canvas-letters ledger list)`);
  }
  if (w.summaryUnwritten) say(`${showName(reportJson)} could not be written`);
  say('make room (or end the lock), then run again with a new --out folder: letters already sent are skipped');
}

/** The sending options shared by send and watch (the ledger: ledgerInput). */
export function sendTuning(flags: SendFlags) {
  return {
    concurrency: flags.concurrency,
    rate: flags.rate,
    limit: flags.limit,
    timeoutSeconds: flags.timeout,
    retryBaseDelayMs: retryBaseFromEnv(),
    skipInvalid: flags.skipInvalid,
    resendUnknown: flags.resendUnknown,
    lookupFhir: flags.lookup,
  };
}

function describe(p: Preflight): string {
  const lines = [`About to create ${p.toSend} letter${p.toSend === 1 ? '' : 's'} in Canvas at ${p.host}.`];
  if (p.resent) {
    lines.push(`${p.resent} of them ${p.resent === 1 ? 'was' : 'were'} sent before and now differ${p.resent === 1 ? 's' : ''}: sent again as new letters (--resend-changed); the earlier ones stay in Canvas.`);
  }
  const notes: string[] = [];
  if (p.alreadySent) notes.push(`${p.alreadySent} already sent (skipped)`);
  if (p.changed) notes.push(`${p.changed} already sent but now different (${changedNote(p.changed, p.resendChanged ? p.resent : undefined)})`);
  if (p.unknown) notes.push(`${p.unknown} with an unknown earlier outcome (not resent)`);
  if (p.invalid) notes.push(`${p.invalid} invalid (not sent)`);
  if (p.duplicates) notes.push(`${p.duplicates} duplicate rows (skipped)`);
  if (p.overLimit) notes.push(`${p.overLimit} over --limit (not sent)`);
  if (p.notApproved) notes.push(`${p.notApproved} not approved (not sent)`);
  if (notes.length) lines.push(`Of ${p.rows} rows: ${notes.join(', ')}.`);
  return lines.join('\n');
}

async function ask(p: Preflight): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${describe(p)}\nContinue? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** CANVAS_LETTERS_RETRY_BASE_MS: the backoff base in ms (default 500), for tests and tuning. */
export function retryBaseFromEnv(): number | undefined {
  const raw = process.env.CANVAS_LETTERS_RETRY_BASE_MS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError('CANVAS_LETTERS_RETRY_BASE_MS: expected a number of milliseconds');
  return n;
}
