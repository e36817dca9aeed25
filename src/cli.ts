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
import type { ReportSummary } from './report.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

interface BatchFlags {
  template?: string;
  templatesDir: string;
  out?: string;
  provider?: string;
  location?: string;
  map: string[];
  skipInvalid?: boolean;
  json?: boolean;
  files: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function addBatchOptions(cmd: Command): Command {
  return cmd
    .option('-t, --template <name>', 'template <templates-dir>/<name>.hbs; a "template" column overrides it per row')
    .option('--templates-dir <dir>', 'where templates, partials and stylesheets live', './templates')
    .option('-o, --out <dir>', 'where the report (and previews) are written (default: ./out/<csv-name>-<YYYYMMDD-HHMMSS>)')
    .option('--provider <key>', 'providerKey for rows whose CSV has none')
    .option('--location <key>', 'practiceLocationKey for rows whose CSV has none')
    .option('--map <field=column>', 'read a field from a differently named column (repeatable)', collect, [])
    .option('--skip-invalid', 'go on with the valid rows when some are invalid (default: refuse the whole file)')
    .option('--json', 'print the run summary as JSON on stdout');
}

function say(line: string): void {
  process.stderr.write(line + '\n');
}

async function runPreview(csv: string, flags: BatchFlags): Promise<number> {
  const [{ preview }, { parseMapOptions }, { defaultOutDir }, { formatSummary }] = await Promise.all([
    import('./preview.js'),
    import('./mapping.js'),
    import('./batch.js'),
    import('./report.js'),
  ]);
  const { plan, summary } = await preview({
    csv,
    templatesDir: resolve(flags.templatesDir),
    template: flags.template,
    map: parseMapOptions(flags.map),
    provider: flags.provider,
    location: flags.location,
    out: resolve(flags.out ?? defaultOutDir(csv)),
    files: flags.files,
    skipInvalid: flags.skipInvalid,
  });
  for (const w of plan.warnings) say(`warning: ${w}`);
  for (const p of plan.problems) say(p);
  if (summary.refused) {
    say(`${csv}: ${plan.invalid} invalid row${plan.invalid === 1 ? '' : 's'}; nothing was previewed (fix them, or use --skip-invalid)`);
  }
  printSummary(summary, flags.json, formatSummary);
  return summary.exitCode;
}

function printSummary(summary: ReportSummary, json: boolean | undefined, format: (s: ReportSummary) => string): void {
  say(format(summary));
  if (json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

async function runTemplates(flags: { templatesDir: string; json?: boolean }): Promise<number> {
  const { TemplateSet } = await import('./templates/index.js');
  const set = TemplateSet.load(resolve(flags.templatesDir));
  const list = set.list().map((name) => {
    const t = set.get(name);
    return { name, file: t.file, required: t.fields.required, optional: t.fields.optional, warnings: t.warnings };
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
    for (const w of t.warnings) process.stdout.write(`  warning: ${w}\n`);
  }
  return 0;
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('canvas-letters')
    .description('Create letters in Canvas Medical in bulk from a CSV and Handlebars HTML templates.')
    .version(pkg.version)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  addBatchOptions(
    program
      .command('preview')
      .description('validate and render every row; write the previews and the report; never touches the network')
      .argument('<csv>', 'the CSV file, one letter per row'),
  )
    .addOption(new Option('--no-files', 'write the report, not the letter files'))
    .action(async (csv: string, flags: BatchFlags) => setExit(await runPreview(csv, flags)));

  program
    .command('templates')
    .description('list the templates and the merge fields each one uses')
    .option('--templates-dir <dir>', 'where templates, partials and stylesheets live', './templates')
    .option('--json', 'print the list as JSON on stdout')
    .action(async (flags: { templatesDir: string; json?: boolean }) => setExit(await runTemplates(flags)));

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
