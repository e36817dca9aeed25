/**
 * `canvas-letters ledger list|resolve|export`: read the ledger, record what a person found on a
 * chart, write an audit CSV. Each finds the ledger as `send` does (--ledger, CANVAS_LETTERS_LEDGER,
 * the config file's ledger, the instance's default), never creates one and never binds it to a
 * Canvas instance. Nothing here prints letter content: the ledger holds none.
 */
import { basename, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { showName } from '../escape.js';
import type { Ledger, LedgerRecord, LedgerStatus, Resolution } from '../ledger/ledger.js';
import { applyProjectConfig } from './config.js';
import { LEDGER_HELP, positiveInt, say } from './shared.js';

/** How a ledger is found: `--ledger`, or the ledger of `--job`. */
export interface CommonFlags {
  ledger?: string;
  job?: string;
}
interface ListFlags extends CommonFlags {
  status?: LedgerStatus;
  patient?: string;
  since?: string;
  json?: boolean;
}
interface ResolveFlags extends CommonFlags {
  file?: string;
  row?: number;
  sent?: boolean;
  notSent?: boolean;
  letterId?: string;
  by: string;
}
interface ExportFlags extends CommonFlags {
  since?: string;
  out?: string;
}

const STATUSES: LedgerStatus[] = ['unknown', 'pending', 'sent', 'failed'];
const EXPORT_DEFAULT = './ledger-export-<YYYYMMDD-HHMMSS>.csv';

/** `--since`: a day (YYYY-MM-DD, from local midnight) or an ISO 8601 time, as an ISO time (UTC). */
export function parseSince(value: string): string {
  const v = value.trim();
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  let date: Date | undefined;
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]) - 1, Number(day[3])];
    date = new Date(y, m, d);
    if (date.getFullYear() !== y || date.getMonth() !== m || date.getDate() !== d) date = undefined;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(v)) {
    date = new Date(v);
  }
  if (date === undefined || Number.isNaN(date.getTime())) throw new InvalidArgumentError('expected a day (YYYY-MM-DD) or an ISO 8601 time (2026-12-03T10:00Z)');
  return date.toISOString();
}

/** Register `ledger` and its subcommands; `setExit` keeps each one's exit code. */
export function addLedgerCommand(program: Command, setExit: (code: number) => void): void {
  const ledger = program.command('ledger').description('read the ledger, record what a person found on a chart, export an audit CSV');
  const common = (cmd: Command) =>
    cmd
      .addOption(new Option('--ledger <file>', LEDGER_HELP))
      .option('--job <name>', "find the ledger as this job of canvas-letters.config.json does (its \"ledger\")");
  const action =
    <F extends CommonFlags>(run: (ledger: Ledger, flags: F, args: string[]) => number | Promise<number>) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const config = await applyProjectConfig(cmd, { only: ['ledger'] });
      const flags = cmd.opts<F>();
      const opened = await openLedger(flags, config?.ledger);
      try {
        setExit(await run(opened, flags, cmd.processedArgs as string[]));
      } finally {
        opened.close();
      }
    };

  common(ledger.command('list').description('list the letters the ledger holds (never their content)'))
    .addOption(new Option('--status <status>', 'only letters of this status').choices(STATUSES))
    .option('--patient <key>', 'only the letters of this patientKey')
    .option('--since <date>', 'only letters recorded or resolved since this day (YYYY-MM-DD, local time) or ISO 8601 time', parseSince)
    .option('--json', 'print the letters as a JSON array on stdout')
    .action(action(runList));

  common(ledger.command('resolve').description('record what a person found on the patient chart for a letter whose outcome is unknown'))
    .argument('[letterKey]', 'the letter key (ledger list shows it); or --file and --row')
    .option('--file <csv>', 'the CSV file a run was given (its path, or its base name when only one such file is in the ledger)')
    .option('--row <n>', 'with --file: the data row (as in the report)', positiveInt)
    .option('--sent', 'the letter is on the chart: every later run skips it')
    .option('--not-sent', 'the letter is not on the chart: a plain send sends it again')
    .option('--letter-id <id>', 'with --sent: the id of the letter found on the chart')
    .requiredOption('--by <name>', 'who looked at the chart (required)')
    .action(action(runResolve));

  common(ledger.command('export').description('write an audit CSV of every letter: keys, status, times, approver, resolutions'))
    .option('--since <date>', 'only letters recorded or resolved since this day (YYYY-MM-DD, local time) or ISO 8601 time', parseSince)
    .option('-o, --out <file>', `the CSV file to write, 0600, never an existing one (default: ${EXPORT_DEFAULT}); - writes to stdout`)
    .action(action(runExport));
}

/** The ledger as send finds it; one that does not exist is refused (exit 2), naming where it was looked for. */
async function openLedger(flags: CommonFlags, configured: string | undefined): Promise<Ledger> {
  const found = await findLedger(flags, configured);
  if (found.ledger) return found.ledger;
  throw new UsageError(`no ledger at ${showName(found.file)} (${found.from})`, 'check --ledger, CANVAS_LETTERS_LEDGER or CANVAS_BASE_URL: nothing has been sent with this ledger yet; none was created');
}

/** A ledger found as send finds it: opened when its file exists (never created), else where it was looked for and why. */
export async function findLedger(flags: CommonFlags, configured: string | undefined): Promise<{ ledger?: Ledger; file: string; from: string }> {
  const [{ locateLedger }, { Ledger: LedgerClass }, { lstatOrUndefined }] = await Promise.all([
    import('../ledger/location.js'),
    import('../ledger/ledger.js'),
    import('../fsutil.js'),
  ]);
  const where = locateLedger({ flag: flags.ledger, configured });
  if (where.warning) say(`warning: ${where.warning}`);
  const from = { flag: 'given by --ledger', env: 'from CANVAS_LETTERS_LEDGER', config: "the config file's ledger", 'old-default': 'the old default', default: `the ledger of ${where.origin ?? 'CANVAS_BASE_URL'}` }[where.source];
  if (lstatOrUndefined(where.file) === undefined) return { file: where.file, from };
  return { ledger: LedgerClass.open(where.file, { create: false }), file: where.file, from };
}

function runList(ledger: Ledger, flags: ListFlags): number {
  const records = ledger.records({ status: flags.status, patientKey: flags.patient, since: flags.since });
  if (flags.json) {
    process.stdout.write(JSON.stringify(records, null, 2) + '\n');
    return 0;
  }
  if (records.length === 0) {
    say(`no letters in ${showName(ledger.file)} match`);
    return 0;
  }
  process.stdout.write(formatTable(records));
  say(`${records.length} letter${records.length === 1 ? '' : 's'} in ${showName(ledger.file)}`);
  return 0;
}

const HEADER = ['ROW', 'FILE', 'STATUS', 'PATIENT', 'PROVIDER', 'LOCATION', 'TEMPLATE', 'CREATED', 'UPDATED', 'HTTP', 'LETTER-ID', 'ATTEMPTS', 'APPROVER', 'LETTER-KEY', 'RESOLUTION'];

/** `2026-12-03T10:00:00Z` (seconds, UTC) from a stored ISO time (escaped: the ledger file may have been edited). */
const shortTime = (iso: string) => showName(iso.replace(/\.\d+Z$/, 'Z'));

function describeResolution(r: Resolution | undefined): string {
  if (r === undefined) return '-';
  return `${r.outcome}${r.letterId !== undefined ? ` (letter id ${showName(r.letterId)})` : ''} by ${showName(r.by)} ${shortTime(r.at)}`;
}

/** One aligned line per record (every text the ledger holds escaped: names, keys, times), under a header. */
export function formatTable(records: readonly LedgerRecord[]): string {
  const lines = records.map((r) => [
    String(r.row), showName(r.sourceFile), showName(r.superseded ? `${r.status} (${r.superseded} earlier sent)` : r.status),
    showName(r.patientKey), showName(r.providerKey), showName(r.practiceLocationKey), showName(r.template),
    shortTime(r.createdAt), shortTime(r.updatedAt), r.httpStatus === undefined ? '-' : String(r.httpStatus),
    r.letterId === undefined ? '-' : showName(r.letterId), String(r.attempts), r.approver === undefined ? '-' : showName(r.approver),
    showName(r.letterKey), describeResolution(r.lastResolution),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const pad = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [HEADER, ...lines].map(pad).join('\n') + '\n';
}

function runResolve(ledger: Ledger, flags: ResolveFlags, args: string[]): number {
  const letterKey = args[0];
  if (flags.sent === flags.notSent) throw new UsageError('give exactly one of --sent and --not-sent', 'nothing was recorded');
  if ((letterKey !== undefined) === (flags.file !== undefined || flags.row !== undefined)) {
    throw new UsageError('give a letter key, or --file and --row (not both)', 'nothing was recorded');
  }
  if (letterKey === undefined && (flags.file === undefined || flags.row === undefined)) throw new UsageError('--file and --row go together', 'nothing was recorded');
  const { record, previous, resolution, again } = ledger.resolve({
    ...(letterKey !== undefined ? { letterKey } : { file: flags.file!, row: flags.row! }),
    outcome: flags.sent ? 'sent' : 'not-sent',
    ...(flags.letterId !== undefined && { letterId: flags.letterId }),
    by: flags.by,
  });
  const next = resolution.outcome === 'sent' ? 'every later run skips it' : 'the next plain send sends it';
  say(`letter ${showName(record.letterKey)} (${showName(record.sourceFile)} row ${record.row}): ${describeResolution(resolution)}`);
  say(`it was ${previous}${again ? ' (resolved before: this resolution is added to its history)' : ''}, now ${record.status}: ${next}`);
  return 0;
}

/** The audit CSV to `-o` (0600, never over an existing file), by default a new file in the working folder; `-o -`: stdout. */
async function runExport(ledger: Ledger, flags: ExportFlags): Promise<number> {
  const [{ auditCsv }, { writePrivateFile }, { defaultOutDir }] = await Promise.all([
    import('../ledger/audit.js'),
    import('../fsutil.js'),
    import('../report/out-dir.js'),
  ]);
  const { text: csv, letters } = auditCsv(ledger, { since: flags.since });
  if (flags.out === '-') {
    process.stdout.write(csv);
    return 0;
  }
  const file = resolve(flags.out ?? `${basename(defaultOutDir('ledger-export'))}.csv`);
  writePrivateFile(file, csv);
  say(`ledger export: ${letters} letter${letters === 1 ? '' : 's'} written to ${showName(file)}`);
  return 0;
}
