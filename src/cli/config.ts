/**
 * The config file on the command line: load it (and `--job`), refuse what the command cannot
 * do with it, and fill every option not given on the command line from the job, then the
 * file's defaults. `map` merges field by field (defaults, then the job, then `--map` flags).
 * A setting a command does not have is ignored by it (`files` for send). The file's `ledger`
 * is not an option value: it comes after `$CANVAS_LETTERS_LEDGER` (ledgerInput).
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ConfigUsed, ProjectConfig } from '../config/resolve.js';
import type { OptionName } from '../config/schema.js';

/** Settings a command accepts on its command line but does nothing with: the file's are not taken (no warning for them). */
const NOT_TAKEN: Partial<Record<string, readonly string[]>> = { watch: ['out'] };

export interface AppliedConfig {
  used: ConfigUsed;
  /** The file's (or job's) `ledger`, absolute. */
  ledger?: string;
  /** The options the file (or job) set, not given on the command line. */
  set: string[];
}

export interface ApplyOptions {
  /** Take only these settings (the `templates` command takes `templatesDir` alone). */
  only?: readonly OptionName[];
  /** Where the config file is looked for from (default: the working folder). */
  cwd?: string;
}

/** Apply the config file to `cmd`'s parsed options. Undefined when there is no config file. */
export async function applyProjectConfig(cmd: Command, opts: ApplyOptions = {}): Promise<AppliedConfig | undefined> {
  const { only } = opts;
  const { loadProjectConfig } = await import('../config/resolve.js');
  const job = cmd.getOptionValue('job') as string | undefined;
  const config = loadProjectConfig({ job, ...(opts.cwd !== undefined && { cwd: opts.cwd }) });
  if (config === undefined) return undefined;
  refuseApproval(cmd, config);
  const { map, ledger, requireApproval: _approval, ...settings } = config.options;
  const takes = (name: string) =>
    cmd.options.some((o) => o.attributeName() === name) && (only === undefined || only.includes(name as OptionName)) && !NOT_TAKEN[cmd.name()]?.includes(name);
  const set: string[] = [];
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined || !takes(name) || cmd.getOptionValueSource(name) === 'cli') continue;
    cmd.setOptionValueWithSource(name, value, 'config');
    set.push(name);
  }
  if (map !== undefined && takes('map')) mergeMap(cmd, map);
  return { used: config.used, set, ...(ledger !== undefined && takes('ledger') && { ledger }) };
}

/** `--map` flags after the config's fields: a field given on the command line drops the config's. */
function mergeMap(cmd: Command, map: Record<string, string>): void {
  const flags = (cmd.getOptionValue('map') as string[] | undefined) ?? [];
  const given = new Set(flags.map((f) => (f.includes('=') ? f.slice(0, f.indexOf('=')).trim() : '')));
  const fromConfig = Object.entries(map)
    .filter(([field]) => !given.has(field))
    .map(([field, column]) => `${field}=${column}`);
  const source = cmd.getOptionValueSource('map') === 'cli' ? 'cli' : 'config';
  cmd.setOptionValueWithSource('map', [...fromConfig, ...flags], source);
}

/**
 * `requireApproval`: send refuses to run without --approved (saying how to get an approved
 * batch), and watch refuses such jobs (it sends CSV files, never approved batches); preview
 * ignores it.
 */
function refuseApproval(cmd: Command, config: ProjectConfig): void {
  if (config.approvalKey === undefined) return;
  const setting = `${config.shown}: ${config.approvalKey} is true`;
  const job = config.used.job;
  const what = job !== undefined ? `job ${job}` : 'this project';
  const jobFlag = job !== undefined ? ` --job ${job}` : '';
  if (cmd.name() === 'send' && cmd.getOptionValue('approved') === undefined) {
    throw new UsageError(
      `${what} requires approval (${setting}): send sends only an approved preview; nothing was sent`,
      `run canvas-letters preview <csv>${jobFlag} --out <out>, review <out>/index.html, then canvas-letters approve <out> --by <name>, then canvas-letters send --approved <out>${jobFlag}`,
    );
  }
  if (cmd.name() === 'watch') {
    throw new UsageError(
      `watch cannot send jobs that require approval (${setting}): it sends the CSV files dropped in, never an approved preview`,
      `nothing was sent; give watch a job without "requireApproval", and send approved batches with canvas-letters send --approved <out>${jobFlag}`,
    );
  }
}
