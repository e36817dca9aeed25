/**
 * What the batch commands (preview, send, watch) share on the command line: their options,
 * turning flags into library input, and printing notes and the summary to stderr.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ReportSummary } from '../report/writer.js';
import type { Plan, ValidateOptions } from '../plan/validate.js';

export interface BatchFlags {
  template?: string;
  templatesDir: string;
  out?: string;
  provider?: string;
  location?: string;
  map: string[];
  dateInput?: string;
  concurrency: number;
  rate?: number;
  limit?: number;
  timeout: number;
  ledger?: string;
  job?: string;
  skipInvalid?: boolean;
  resendUnknown?: boolean;
  resendChanged?: boolean;
  yes?: boolean;
  lookup?: boolean;
  json?: boolean;
  /** `send --approved <preview-dir>`. */
  approved?: string;
}

/** The flags of the commands that send (the same set: see addBatchOptions). */
export type SendFlags = BatchFlags;

/** What --help says of the ledger's default (README's option table says the same). */
export const LEDGER_HELP =
  "the durable record of what was sent (default: $CANVAS_LETTERS_LEDGER, else the config file's ledger, else one per Canvas instance: " +
  '<state>/canvas-letters/<host>[_<port>]/ledger.db, <state> = $XDG_STATE_HOME or ~/.local/state; ' +
  'an existing ./.canvas-letters/ledger.db, the old default, is still used, with a warning)';

/** A word the shell reads as it is, or the word in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./~-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export function say(line: string): void {
  process.stderr.write(line + '\n');
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number greater than 0');
  return n;
}

export type BatchCommand = 'preview' | 'send' | 'watch';

/** An option's line in one command's help, or none where it has no effect (it is still accepted). */
const shownIn = (option: Option, shown: boolean) => option.hideHelp(!shown);

/** A repeatable option: each use adds one value to the list (see startEmpty). */
export function listOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser(collect);
}

/**
 * Start list options at [] on the command rather than as the options' default, which commander
 * would print in the help as "(default: [])". Give it before the options are added.
 */
export function startEmpty(cmd: Command, ...names: string[]): Command {
  for (const name of names) cmd.setOptionValueWithSource(name, [], 'default');
  return cmd;
}

/**
 * The contract's options, on every batch command (preview, send, watch), so a command line
 * can move between them. Options that have no effect in a command are accepted there and hidden
 * from its help (README): preview sends nothing (--rate, --ledger, --resend-unknown, --yes; it
 * uses --concurrency and --timeout only for --lookup reads), and watch never asks (--yes,
 * --resend-changed: a deliberate, confirmed act) and writes each report beside its file (--out).
 */
export function addBatchOptions(cmd: Command, command: BatchCommand): Command {
  const preview = command === 'preview';
  startEmpty(cmd, 'map')
    .option('-t, --template <name>', 'template <templates-dir>/<name>.hbs; a "template" column overrides it per row')
    .option('--templates-dir <dir>', 'where templates, partials, stylesheets and images live', './templates')
    .addOption(shownIn(new Option('-o, --out <dir>', `where the report${preview ? ', the letters and index.html are' : ' is'} written (default: ./out/<csv-name>-<YYYYMMDD-HHMMSS>)`), command !== 'watch'))
    .option('--provider <key>', 'providerKey for rows whose CSV has none')
    .option('--location <key>', 'practiceLocationKey for rows whose CSV has none')
    .addOption(listOption('--map <field=column>', 'read a field from a differently named column, e.g. --map patientKey="Patient ID" (repeatable)'))
    .option('--date-input <order>', 'how the CSV writes dates that are not YYYY-MM-DD: MM/DD/YYYY (default) or DD/MM/YYYY')
    .option('-c, --concurrency <n>', preview ? 'with --lookup: most FHIR reads at once' : 'most requests in flight at once', positiveInt, 4)
    .addOption(shownIn(new Option('--rate <n>', 'most requests started per second (retries included)').argParser(positiveNumber), !preview))
    .option('--limit <n>', preview ? 'preview at most n letters; later valid rows are not_attempted' : `send at most n letters${command === 'watch' ? ' of each file' : ''} (after skipping already-sent ones); the rest are not_attempted`, positiveInt)
    .option('--timeout <seconds>', preview ? 'with --lookup: give up waiting for one FHIR read' : 'give up waiting for one answer (the row is then unknown); also bounds each --lookup read', positiveNumber, 30)
    .addOption(shownIn(new Option('--ledger <file>', LEDGER_HELP), !preview))
    .option('--job <name>', "take the options of a named job from canvas-letters.config.json (flags win over the job, the job over the file's defaults)")
    .option('--skip-invalid', `${preview ? 'render' : 'send'} the valid rows even when some are invalid (default: refuse the whole file)`)
    .addOption(shownIn(new Option('--resend-unknown', 'send again rows whose earlier outcome is unknown (check the charts first)'), !preview))
    .addOption(shownIn(new Option('--resend-changed', 'send again, as new letters, rows already sent whose letter now differs (asks first)'), command === 'send'))
    .addOption(shownIn(new Option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)'), command === 'send'))
    .option('--lookup', "read patient, provider and location details from the Canvas FHIR API by the rows' keys (a CSV column of the same name wins)")
    .option('--json', 'print the run summary as JSON on stdout');
  // send's own (preview and watch do not have it): the letters of an approved preview, instead of a CSV.
  if (command === 'send') cmd.option('--approved <preview-dir>', 'send exactly the approved letters of a sealed preview (see Approval), instead of a <csv>');
  return cmd;
}

/** Library input from the shared flags. */
export async function batchInput(csv: string, flags: BatchFlags): Promise<ValidateOptions & { out: string }> {
  const { defaultOutDir } = await import('../report/out-dir.js');
  return { csv, ...(await mappingInput(flags)), out: resolve(flags.out ?? defaultOutDir(csv)) };
}

/**
 * The ledger of a sending run (send, watch): --ledger, else $CANVAS_LETTERS_LEDGER, else the config
 * file's `ledger` (`configured`), else the default (ledger/location.ts), with the instance's origin
 * to check it against. Warns when the old default is in use; the library says when it made a new
 * ledger file, and this announces it.
 */
export async function ledgerInput(flags: BatchFlags, configured?: string): Promise<{ ledgerFile: string; origin?: string; onLedger: (l: { file: string; created: boolean }) => void }> {
  const [{ locateLedger }, { showName }] = await Promise.all([import('../ledger/location.js'), import('../escape.js')]);
  const where = locateLedger({ flag: flags.ledger, configured });
  if (where.warning) say(`warning: ${where.warning}`);
  let announced = false;
  return {
    ledgerFile: where.file,
    ...(where.origin !== undefined && { origin: where.origin }),
    onLedger: ({ file, created }) => {
      if (created && !announced) say(`new ledger: ${showName(file)}`);
      announced ||= created;
    },
  };
}

/** Templates and mapping from the shared flags. */
export async function mappingInput(flags: BatchFlags): Promise<Omit<ValidateOptions, 'csv'>> {
  const { parseMapOptions, parseDateInput } = await import('../input/mapping.js');
  return {
    templatesDir: resolve(flags.templatesDir),
    template: flags.template,
    map: parseMapOptions(flags.map),
    provider: flags.provider,
    location: flags.location,
    ...(flags.dateInput !== undefined && { dateInput: parseDateInput(flags.dateInput) }),
  };
}

/**
 * Warnings and every problem found by validation, one line each (rows and columns, no values):
 * the same problem on many rows is one line with a count and the first rows (plan.problems).
 */
export function printPlanNotes(plan: Plan): void {
  for (const w of plan.warnings) say(`warning: ${w}`);
  for (const p of plan.problems) say(p);
}

/** The run's summary on stderr (with `gallery`, the index.html written for review), and as JSON on stdout with --json. */
export async function printSummary(summary: ReportSummary, json: boolean | undefined, files: { gallery?: string } = {}): Promise<void> {
  const { formatSummary } = await import('../report/writer.js');
  say(formatSummary(summary, files));
  const unknown = summary.counts.unknown;
  if (unknown > 0 && summary.command !== 'preview') {
    say(`${unknown} unknown: Canvas may have created ${unknown === 1 ? 'it' : 'them'}; check the chart${unknown === 1 ? '' : 's'}, then record what you found with canvas-letters ledger resolve (ledger list --status unknown lists them)`);
  }
  if (json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

/**
 * Ask V8 to grow the heap in small steps for a batch command. Every row allocates a letter's
 * worth of short-lived strings, and by default V8 lets the heap grow by a large factor (up to
 * 4x) after each full collection rather than collect early. With steps of 20 % a 100,000-row
 * send peaks near 160 MB instead of 180–210 MB, at the same speed (BENCHMARKS.md;
 * `--optimize-for-size` saves as much but costs a third more time). V8 reads this heuristic at
 * every collection, so a running process can set it; it is set before the heavy modules load.
 * A value the user gave (NODE_OPTIONS or node's own flags) wins.
 */
export async function preferSmallHeap(): Promise<void> {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((f) => /^--heap[-_]growing[-_]percent\b/.test(f))) return;
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--heap-growing-percent=20');
}
