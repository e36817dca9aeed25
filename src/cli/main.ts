#!/usr/bin/env node
/**
 * The command line: parses arguments, calls the library, prints, and maps outcomes to the
 * contract's exit codes. Heavy modules are imported inside the actions so that `--help`
 * starts fast. Nothing here prints cell values or letter content: only rows, counts, paths.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { CanvasLettersError } from '../errors.js';
import { addHelpTexts } from './help.js';
import { applyProjectConfig, type AppliedConfig } from './config.js';
import { addSandboxOptions, runSandbox, type SandboxFlags } from './sandbox.js';
import { runSend } from './send.js';
import { addWatchOptions, runWatch } from './watch.js';
import { runPreview } from './preview.js';
import { addBatchOptions, preferSmallHeap, say } from './shared.js';
import { runTemplates } from './templates.js';
import { runInit } from './init.js';
import { runApprove, type ApproveFlags } from './approve.js';
import { addLedgerCommand } from './ledger.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('canvas-letters')
    .description('Create letters in Canvas Medical in bulk from a CSV and Handlebars HTML templates.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)');
  /**
   * A batch command's action: ask for a small heap first, fill the options not given from the
   * config file (and --job), then run and keep its exit code.
   */
  const batchAction =
    <F extends object, T extends string | undefined = string>(run: (target: T, flags: F, config?: AppliedConfig) => Promise<number>) =>
    async (target: T, _flags: F, cmd: Command) => {
      await preferSmallHeap();
      const config = await applyProjectConfig(cmd);
      setExit(await run(target, cmd.opts<F>(), config));
    };

  addBatchOptions(
    program
      .command('preview')
      .description('validate and render every row; write the previews and the report; never touches the network')
      .argument('<csv>', 'the CSV file, one letter per row'),
    'preview',
  )
    .addOption(new Option('--no-files', 'write the report, not the letter files'))
    .option('--pdf', 'also print each letter to letters/row-NNNNN.pdf (US Letter) with headless Chromium, to check how it prints')
    .action(batchAction(runPreview));

  addBatchOptions(
    program
      .command('send')
      .description('validate every row first; then create each letter in Canvas once, with bounded concurrency; write the report')
      .argument('[csv]', 'the CSV file, one letter per row (none with --approved)'),
    'send',
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
    .action(async (_flags: { templatesDir: string; json?: boolean }, cmd: Command) => {
      await applyProjectConfig(cmd, { only: ['templatesDir'] }); // a --templates-dir flag wins
      setExit(await runTemplates(cmd.opts<{ templatesDir: string; json?: boolean }>()));
    });

  program
    .command('init')
    .description('write a working starting project (template, partial, stylesheet, image, sample CSV, .env.example, config file); never overwrites')
    .argument('[dir]', 'the folder to set up (created if missing)', '.')
    .action(async (dir: string) => setExit(await runInit(dir)));

  program
    .command('approve')
    .description('approve a sealed preview: check every letter file against its batch.json, then write approval.json')
    .argument('<preview-dir>', 'the folder a preview wrote (its --out)')
    .requiredOption('--by <name>', 'who approves the letters, recorded in approval.json (required)')
    .option('--exclude <rows>', 'leave these rows out of the approval, e.g. 7,12-15')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--ledger <file>', 'the ledger the batch is to be sent with, to say which letters it records sent (as for send; never created)')
    .option('--job <name>', "find the ledger as this job of canvas-letters.config.json does (its \"ledger\")")
    .action(async (dir: string, flags: ApproveFlags, cmd: Command) => {
      const config = await applyProjectConfig(cmd, { only: ['ledger'] });
      setExit(await runApprove(dir, flags, config?.ledger));
    });

  addLedgerCommand(program, setExit);

  addHelpTexts(program);
  const withSubcommands = (cmd: Command): Command[] => [cmd, ...cmd.commands.flatMap(withSubcommands)];
  for (const cmd of withSubcommands(program)) cmd.exitOverride();
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
