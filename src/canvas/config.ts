/**
 * Canvas connection settings: the base URL and the credentials, read from the environment
 * and from a `.env` file in the working directory (real environment variables win).
 * Error messages name variables, files and line numbers, never a value: a value may be a secret.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

export type Credentials =
  | { kind: 'client'; clientId: string; clientSecret: string }
  | { kind: 'token'; accessToken: string };

export interface CanvasConfig {
  /** Normalised base URL: https (or http on a loopback host), no credentials, query or fragment; path ends with `/`. */
  baseUrl: URL;
  credentials: Credentials;
}

export const ENV_BASE_URL = 'CANVAS_BASE_URL';
export const ENV_CLIENT_ID = 'CANVAS_CLIENT_ID';
export const ENV_CLIENT_SECRET = 'CANVAS_CLIENT_SECRET';
export const ENV_ACCESS_TOKEN = 'CANVAS_ACCESS_TOKEN';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

/**
 * Parse a dotenv file: `KEY=VALUE` lines, optional `export ` prefix, `#` comment lines and
 * ` #` trailing comments on unquoted values, single quotes (literal) and double quotes
 * (`\n \r \t \" \\` escapes). No variable expansion, no multi-line values.
 * A line that is none of these is a ConfigError naming the file and line, not its text.
 */
export function readDotEnv(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`${file}: cannot be read (${code})`, 'make it a readable text file, or remove it');
  }
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const bad = (what: string) =>
      new ConfigError(`${file}, line ${i + 1}: ${what}`, 'write it as KEY=VALUE (quote values with spaces or #)');
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (/^export\s/.test(line)) line = line.slice(6).trimStart();
    const eq = line.indexOf('=');
    if (eq <= 0) throw bad('not a KEY=VALUE line');
    const key = line.slice(0, eq).trim();
    if (!KEY.test(key)) throw bad('malformed variable name');
    const rest = line.slice(eq + 1).trimStart();
    let value: string;
    if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) throw bad('unterminated single quote');
      value = rest.slice(1, end);
      checkTail(rest.slice(end + 1), bad);
    } else if (rest.startsWith('"')) {
      let j = 1;
      value = '';
      for (; j < rest.length && rest[j] !== '"'; j++) {
        if (rest[j] === '\\' && j + 1 < rest.length) {
          const next = rest[++j]!;
          value += ESCAPES[next] ?? `\\${next}`;
        } else value += rest[j];
      }
      if (j >= rest.length) throw bad('unterminated double quote');
      checkTail(rest.slice(j + 1), bad);
    } else {
      const hash = rest.search(/\s#/);
      value = (hash >= 0 ? rest.slice(0, hash) : rest).trim();
    }
    out[key] = value;
  }
  return out;
}

function checkTail(tail: string, bad: (what: string) => ConfigError): void {
  const t = tail.trim();
  if (t !== '' && !t.startsWith('#')) throw bad('text after the closing quote');
}

/** True for `localhost`, 127.0.0.0/8 and ::1 (with or without brackets, any IPv6 spelling). */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h === 'localhost') return true;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (isIPv4(h)) return h.split('.')[0] === '127';
  if (isIPv6(h)) {
    let canonical: string;
    try {
      canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1);
    } catch {
      return false;
    }
    if (canonical === '::1') return true;
    // IPv4-mapped loopback, ::ffff:127.x.y.z (canonical form ::ffff:7fxx:xxxx).
    return /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
  }
  return false;
}

/** Validate and normalise CANVAS_BASE_URL. The message never repeats the value. */
export function parseBaseUrl(raw: string): URL {
  return parseServiceUrl(raw, ENV_BASE_URL, {
    fix: 'set it to your instance address, e.g. https://<instance>.canvasmedical.com',
    credentials: 'put credentials in CANVAS_CLIENT_ID / CANVAS_CLIENT_SECRET',
  });
}

/**
 * Validate and normalise the URL of a Canvas service held in `variable`: https (http only for a
 * loopback host), no user name or password, no query or fragment; the path ends with '/'.
 * Messages name the variable, never its value.
 */
export function parseServiceUrl(raw: string, variable: string, hints: { fix: string; credentials: string }): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`${variable} is not a valid URL`, hints.fix);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${variable} must start with https://`, hints.fix);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      `${variable} uses http:// for a host that is not this machine`,
      'use https:// (plain http is only accepted for localhost, 127.0.0.0/8 and [::1])',
    );
  }
  if (url.username || url.password) {
    throw new ConfigError(`${variable} must not contain a user name or password`, hints.credentials);
  }
  if (url.search || url.hash) {
    throw new ConfigError(`${variable} must not contain a query (?) or fragment (#)`, hints.fix);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/**
 * Read the configuration. `.env` in `cwd` (default: process.cwd()) is read when present;
 * a variable set (non-empty) in `env` (default: process.env) wins over the file.
 * Empty values count as unset. Client credentials and an access token are exclusive:
 * setting both is refused, so letters are never created under an identity nobody chose.
 */
/** Where the Canvas settings go, and, in a project `init` wrote that has no .env yet, how to make one. */
export function settingsWhere(cwd: string = process.cwd()): string {
  const where = 'in the environment or in a .env file in the working directory';
  const example = existsSync(join(cwd, '.env.example')) && !existsSync(join(cwd, '.env'));
  return example ? `${where} (cp .env.example .env, then put your instance's values in it)` : where;
}

export function loadConfig(opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CanvasConfig {
  const env = opts.env ?? process.env;
  const dotEnvFile = join(opts.cwd ?? process.cwd(), '.env');
  const fileVars = existsSync(dotEnvFile) ? readDotEnv(dotEnvFile) : {};
  const get = (name: string): string | undefined => {
    const fromEnv = env[name]?.trim();
    if (fromEnv) return fromEnv;
    const fromFile = fileVars[name]?.trim();
    return fromFile ? fromFile : undefined;
  };
  const where = settingsWhere(opts.cwd);

  const base = get(ENV_BASE_URL);
  if (!base) throw new ConfigError(`${ENV_BASE_URL} is not set`, `set it ${where}, e.g. https://<instance>.canvasmedical.com`);
  const baseUrl = parseBaseUrl(base);

  const clientId = get(ENV_CLIENT_ID);
  const clientSecret = get(ENV_CLIENT_SECRET);
  const accessToken = get(ENV_ACCESS_TOKEN);
  if (accessToken && (clientId || clientSecret)) {
    throw new ConfigError(
      `both ${ENV_ACCESS_TOKEN} and ${clientId ? ENV_CLIENT_ID : ENV_CLIENT_SECRET} are set`,
      `keep either ${ENV_CLIENT_ID} + ${ENV_CLIENT_SECRET} or ${ENV_ACCESS_TOKEN}, not both`,
    );
  }
  if (accessToken) return { baseUrl, credentials: { kind: 'token', accessToken } };
  if (clientId && clientSecret) return { baseUrl, credentials: { kind: 'client', clientId, clientSecret } };
  if (clientId || clientSecret) {
    const missing = clientId ? ENV_CLIENT_SECRET : ENV_CLIENT_ID;
    throw new ConfigError(`${missing} is not set`, `set it ${where} (${ENV_CLIENT_ID} and ${ENV_CLIENT_SECRET} go together)`);
  }
  throw new ConfigError(
    `no Canvas credentials: ${ENV_CLIENT_ID} and ${ENV_CLIENT_SECRET} are not set`,
    `set them ${where}, or set ${ENV_ACCESS_TOKEN}`,
  );
}
