/**
 * Which ledger file a run uses (contract, `--ledger`): the flag, else `$CANVAS_LETTERS_LEDGER`,
 * else the config file's `ledger`, else one ledger per Canvas instance in the user's state folder,
 * `<state>/canvas-letters/<host>[_<port>]/ledger.db` (`<state>` = `$XDG_STATE_HOME` or
 * `~/.local/state`). An existing `./.canvas-letters/ledger.db` (the old default, relative to the
 * working folder) is still used when nothing names a ledger, so an upgrade never sends a letter twice.
 * Never prints: the old default comes back as a warning for the caller to show.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ENV_BASE_URL, parseBaseUrl, readDotEnv, settingsWhere } from '../canvas/config.js';
import { ConfigError } from '../errors.js';
import { showName } from '../escape.js';

export const ENV_LEDGER = 'CANVAS_LETTERS_LEDGER';
/** The default before per-instance ledgers, relative to the working folder. */
export const OLD_DEFAULT_LEDGER = join('.canvas-letters', 'ledger.db');

export interface LedgerLocation {
  /** Absolute path of the ledger file. */
  file: string;
  /** Where the choice came from. */
  source: 'flag' | 'env' | 'config' | 'old-default' | 'default';
  /** The origin (scheme://host[:port]) of CANVAS_BASE_URL, when it is set: the ledger is checked against it. */
  origin?: string;
  /** Something the user should hear (the old default in use). */
  warning?: string;
}

export interface LocateOptions {
  /** `--ledger`. */
  flag?: string;
  /**
   * The config file's `ledger` setting, resolved against the config file's folder (src/config/).
   */
  configured?: string;
  env?: NodeJS.ProcessEnv;
  /** The working folder (default: process.cwd()): `.env` and the old default are looked for there. */
  cwd?: string;
}

/**
 * The ledger a run uses. Throws a ConfigError (exit 2) only when the default is needed and
 * CANVAS_BASE_URL, which names the instance and so its ledger, is not set, or is malformed.
 */
export function locateLedger(opts: LocateOptions = {}): LedgerLocation {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const base = readBaseUrl(env, cwd);
  const origin = base?.origin;
  const named = (file: string, source: LedgerLocation['source']): LedgerLocation => ({ file: resolve(cwd, file), source, ...(origin && { origin }) });
  if (opts.flag) return named(opts.flag, 'flag');
  const fromEnv = env[ENV_LEDGER]?.trim();
  if (fromEnv) return named(fromEnv, 'env');
  if (opts.configured) return named(opts.configured, 'config');
  const fresh = base ? instanceLedger(base, env) : undefined;
  const old = resolve(cwd, OLD_DEFAULT_LEDGER);
  if (existsSync(old)) {
    const target = fresh ?? join(stateHome(env), 'canvas-letters', '<host>', 'ledger.db');
    return {
      ...named(old, 'old-default'),
      warning:
        `using ${showName(old)}, the old default ledger (relative to the working folder, so a run from another folder would not see it). ` +
        `Move it, with its -wal and -shm files if any, to the ledger of this Canvas instance (mkdir -m 700 -p ${showName(join(target, '..'))} && mv ${showName(old)}* ${showName(join(target, '..'))}/), ` +
        `or name it with --ledger, ${ENV_LEDGER} or "ledger" in canvas-letters.config.json`,
    };
  }
  if (!fresh) {
    throw new ConfigError(
      `${ENV_BASE_URL} is not set, and it names the Canvas instance whose ledger records what was sent (${showName(join(stateHome(env), 'canvas-letters', '<host>', 'ledger.db'))})`,
      `set ${ENV_BASE_URL} ${settingsWhere()}, or name a ledger with --ledger or ${ENV_LEDGER}; nothing was sent`,
    );
  }
  return named(fresh, 'default');
}

/** `<state>/canvas-letters/<host>[_<port>]/ledger.db` for a Canvas base URL. */
export function instanceLedger(base: URL, env: NodeJS.ProcessEnv = process.env): string {
  const host = base.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  return join(stateHome(env), 'canvas-letters', base.port ? `${host}_${base.port}` : host, 'ledger.db');
}

/** `$XDG_STATE_HOME` when it is an absolute path (the XDG rule), else `~/.local/state`. */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME?.trim();
  if (xdg && isAbsolute(xdg)) return xdg;
  return join(env.HOME?.trim() || homedir(), '.local', 'state');
}

/** CANVAS_BASE_URL as loadConfig reads it (the environment wins over `.env`), or undefined when unset. */
function readBaseUrl(env: NodeJS.ProcessEnv, cwd: string): URL | undefined {
  let raw = env[ENV_BASE_URL]?.trim();
  if (!raw) {
    const dotEnv = join(cwd, '.env');
    raw = existsSync(dotEnv) ? readDotEnv(dotEnv)[ENV_BASE_URL]?.trim() : undefined;
  }
  return raw ? parseBaseUrl(raw) : undefined;
}
