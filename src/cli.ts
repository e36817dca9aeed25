#!/usr/bin/env node
/**
 * The command line: parses arguments, calls the library, prints, and maps outcomes to the
 * contract's exit codes. Heavy modules are imported inside the actions so that `--help`
 * starts fast. Nothing here prints cell values or letter content: only rows, counts, paths.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CanvasLettersError } from './errors.js';
import { addSandboxOptions, runSandbox, type SandboxFlags } from './cli/sandbox.js';
import { runSend } from './cli/send.js';
import { addWatchOptions, runWatch } from './cli/watch.js';
import { addBatchOptions, batchInput, preferSmallHeap, printPlanNotes, printSummary, say, type BatchFlags } from './cli/shared.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

type PreviewFlags = BatchFlags & { files: boolean; pdf?: boolean };

async function runPreview(csv: string, flags: PreviewFlags): Promise<number> {
  if (flags.pdf) {
    // Before anything is read or printed: a missing browser is the first and only message.
    const { ChromiumMissingError, findChromium } = await import('./browser.js');
    if (!findChromium()) throw new ChromiumMissingError();
  }
  const { preview } = await import('./preview.js');
  const lookup = flags.lookup ? await openLookup(flags.concurrency, flags.timeout * 1000) : undefined;
  const pdfs = { printed: 0, long: 0 };
  const run = preview({
    ...(await batchInput(csv, flags)),
    lookup: lookup?.directory,
    files: flags.files,
    skipInvalid: flags.skipInvalid,
    limit: flags.limit,
    pdf: flags.pdf,
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
  await printSummary(summary, flags.json);
  return summary.exitCode;
}

/** `preview --lookup`: a read-only FHIR directory with its own token (preview never sends). */
async function openLookup(concurrency: number, timeoutMs: number) {
  const [{ loadConfig, HttpClient, TokenSource }, { Directory, fhirBaseUrl }] = await Promise.all([
    import('./canvas/index.js'),
    import('./lookup/index.js'),
  ]);
  const config = loadConfig();
  const fhirBase = fhirBaseUrl(config);
  say(`--lookup: reading patients, providers and locations from ${fhirBase.host} (read-only; preview never sends)`);
  const http = new HttpClient({ concurrency, timeoutMs });
  const tokens = new TokenSource(http, config, { timeoutMs });
  return { directory: new Directory({ http, tokens, fhirBase, concurrency, timeoutMs }), close: () => http.close() };
}

async function runTemplates(flags: { templatesDir: string; json?: boolean }): Promise<number> {
  const { TemplateSet } = await import('./templates/index.js');
  const set = TemplateSet.load(resolve(flags.templatesDir));
  const list = set.list().map((name) => {
    const t = set.get(name);
    return {
      name,
      file: t.file,
      required: t.fields.required,
      optional: t.fields.optional,
      inlining: t.inlining,
      ...(t.inliningReason ? { inliningReason: t.inliningReason } : {}),
      warnings: t.warnings,
    };
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return 0;
  }
  if (list.length === 0) say(`no templates in ${set.dir} (add <name>.hbs files)`);
  for (const t of list) {
    process.stdout.write(`${t.name}  (${t.file})\n`);
    process.stdout.write(`  required: ${t.required.join(', ') || '(none)'}\n`);
    process.stdout.write(`  optional: ${t.optional.join(', ') || '(none)'}\n`);
    process.stdout.write(`  css inlined: ${t.inlining === 'once' ? 'once, into the template' : `per letter (${t.inliningReason ?? 'the merge decides the structure'})`}\n`);
    for (const w of t.warnings) process.stdout.write(`  warning: ${w}\n`);
  }
  return 0;
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('canvas-letters')
    .description('Create letters in Canvas Medical in bulk from a CSV and Handlebars HTML templates.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)');
  /** A batch command's action: ask for a small heap first, then run and keep its exit code. */
  const batchAction =
    <F>(run: (target: string, flags: F) => Promise<number>) =>
    async (target: string, flags: F) => {
      await preferSmallHeap();
      setExit(await run(target, flags));
    };

  addBatchOptions(
    program
      .command('preview')
      .description('validate and render every row; write the previews and the report; never touches the network')
      .argument('<csv>', 'the CSV file, one letter per row'),
  )
    .addOption(new Option('--no-files', 'write the report, not the letter files'))
    .option('--pdf', 'also print each letter to letters/row-NNNNN.pdf (US Letter) with headless Chromium, to check how it prints')
    .action(batchAction(runPreview));

  addBatchOptions(
    program
      .command('send')
      .description('validate every row first; then create each letter in Canvas once, with bounded concurrency; write the report')
      .argument('<csv>', 'the CSV file, one letter per row'),
  ).action(batchAction(runSend));

  addWatchOptions(
    program
      .command('watch')
      .description('process CSV files dropped into a folder, each like send --yes; --once processes what is there and exits (for cron)')
      .argument('<inbox>', 'the folder CSV files are dropped into'),
  ).action(batchAction(runWatch));

  addSandboxOptions(
    program.command('sandbox').description('run a local stand-in for the Canvas Letter API on 127.0.0.1, for trying templates end to end'),
  ).action(async (flags: SandboxFlags) => setExit(await runSandbox(flags)));

  program
    .command('templates')
    .description('list the templates and the merge fields each one uses')
    .option('--templates-dir <dir>', 'where templates, partials and stylesheets live', './templates')
    .option('--json', 'print the list as JSON on stdout')
    .action(async (flags: { templatesDir: string; json?: boolean }) => setExit(await runTemplates(flags)));

  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its own message; help and version are not errors.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CanvasLettersError) {
      say(`canvas-letters: ${err.message}`);
      return err.exitCode;
    }
    say(`canvas-letters: unexpected error: ${(err as Error)?.message ?? String(err)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
