/**
 * The settings a run takes from the config file: the file's defaults, then the named job's
 * settings over them (`map` merged field by field), with the relative paths (`templatesDir`,
 * `out`, `ledger`) resolved against the config file's folder. Command-line flags go over
 * these in the CLI.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { showName } from '../escape.js';
import { CONFIG_FILE, displayPath, findConfigFile, readConfigFile } from './find.js';
import { parseConfig, type ConfigFile, type ConfigOptions } from './schema.js';

/** Which config file and job a run used (report.json's summary, `--json`). */
export interface ConfigUsed {
  /** Absolute path of the config file. */
  file: string;
  job?: string;
}

export interface ProjectConfig {
  used: ConfigUsed;
  /** How messages name the file (relative to the working folder). */
  shown: string;
  /** The file's defaults with the job's settings over them; paths absolute. */
  options: ConfigOptions;
  /** Where `requireApproval` was set to true (`requireApproval` or `jobs.jury.requireApproval`), when it is. */
  approvalKey?: string;
}

const PATH_KEYS = ['templatesDir', 'out', 'ledger'] as const;

export interface LoadOptions {
  /** `--job`. */
  job?: string;
  /** Where the lookup starts (default: process.cwd()). */
  cwd?: string;
}

/**
 * The config of a run: undefined when no config file is found and no job is asked for. Throws
 * UsageError (exit 2) when the file cannot be used, when `job` is given but no file is found,
 * or when the file has no such job.
 */
export function loadProjectConfig(opts: LoadOptions = {}): ProjectConfig | undefined {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const file = findConfigFile(cwd);
  if (file === undefined) {
    if (opts.job === undefined) return undefined;
    throw new UsageError(
      `--job ${showName(opts.job)}: no ${CONFIG_FILE} in ${showName(cwd)} or any folder above it`,
      'run canvas-letters init to start a project with one, or run the command from inside the project',
    );
  }
  const shown = displayPath(file, cwd);
  return resolveJob(parseConfig(readConfigFile(file, cwd), shown), file, shown, opts.job);
}

/** The settings of `job` (or the defaults alone) from a parsed config file at `file`. */
export function resolveJob(config: ConfigFile, file: string, shown: string, job?: string): ProjectConfig {
  const { jobs = {}, $schema: _schema, ...defaults } = config;
  let own: ConfigOptions = {};
  if (job !== undefined) {
    const found = Object.hasOwn(jobs, job) ? jobs[job] : undefined;
    if (found === undefined) throw unknownJob(job, Object.keys(jobs), shown);
    own = found;
  }
  const map = defaults.map || own.map ? { ...defaults.map, ...own.map } : undefined;
  const options: ConfigOptions = { ...defaults, ...own, ...(map && { map }) };
  const folder = dirname(file);
  for (const key of PATH_KEYS) {
    const value = options[key];
    if (value !== undefined && !isAbsolute(value)) options[key] = resolve(folder, value);
  }
  const approvalKey = own.requireApproval !== undefined ? (own.requireApproval ? `jobs.${job}.requireApproval` : undefined) : defaults.requireApproval ? 'requireApproval' : undefined;
  return { used: { file, ...(job !== undefined && { job }) }, shown, options, ...(approvalKey && { approvalKey }) };
}

function unknownJob(job: string, names: string[], shown: string): UsageError {
  const listed = names.length ? `its jobs are: ${names.map(showName).join(', ')}` : 'it has no jobs: add one under "jobs", e.g. "jobs": {"jury": {"template": "jury-duty"}}';
  return new UsageError(`--job ${showName(job)}: ${shown} has no such job`, listed);
}
