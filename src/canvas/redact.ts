/**
 * The run's secrets and the one function that removes them from text that came from elsewhere
 * (server messages, reason phrases, error messages) before it reaches a report, the ledger, a log
 * or an exception. A `Secrets` registry is made per run: the client secret, the static access
 * token and proxy credentials are added at the start, and every token issued during the run is
 * added as it arrives.
 *
 * Each secret is removed in every form it may travel in: as is, URL-encoded (encodeURIComponent
 * and application/x-www-form-urlencoded, hex digits in either case), JSON-escaped, and base64
 * (standard and base64url, padded or not, at any alignment: so also inside base64(`id:secret`),
 * the Basic-auth form, whose full form is removed too when the user name is known).
 *
 * Redact before shortening: a secret cut in two by shortening can no longer be recognised.
 */

export const REDACTED = '[redacted]';

/** Secrets shorter than this are not looked for (they would match ordinary words). */
export const MIN_SECRET_LENGTH = 4;

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const;

export class Secrets {
  /** Every form of every secret, longest first when redacting. */
  private readonly forms = new Set<string>();
  private sorted?: string[];

  /** Look for `secret` (in all its forms) from now on. Empty and very short values are ignored. */
  add(secret: string | undefined): this {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) return this;
    for (const form of formsOf(secret)) this.addForm(form);
    return this;
  }

  /** A user name and password sent as Basic auth: the password, `user:password` and base64 of it. */
  addCredentials(user: string, password: string): this {
    this.add(password);
    if (password !== '') this.add(`${user}:${password}`);
    return this;
  }

  /** How many secrets' forms are known (0 when there is nothing to redact). */
  get size(): number {
    return this.forms.size;
  }

  /** `text` with every form of every secret replaced by `[redacted]`; `extra` values are removed too (as is). */
  redact(text: string, extra: readonly string[] = []): string {
    let out = text;
    for (const form of this.ordered()) if (out.includes(form)) out = out.split(form).join(REDACTED);
    for (const value of extra) if (value.length >= MIN_SECRET_LENGTH) out = out.split(value).join(REDACTED);
    return out;
  }

  private addForm(form: string): void {
    if (form.length < MIN_SECRET_LENGTH || this.forms.has(form)) return;
    this.forms.add(form);
    this.sorted = undefined;
  }

  private ordered(): string[] {
    this.sorted ??= [...this.forms].sort((a, b) => b.length - a.length);
    return this.sorted;
  }
}

/** A registry holding the proxy credentials of the environment (HTTPS_PROXY, HTTP_PROXY and their lower-case forms). */
export function secretsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Secrets {
  const secrets = new Secrets();
  for (const name of PROXY_VARIABLES) addProxyCredentials(secrets, env[name]);
  return secrets;
}

/** The userinfo of a proxy URL: its password (with `user:password`), or the user name alone when it has no password. */
export function addProxyCredentials(secrets: Secrets, value: string | undefined): void {
  if (!value) return;
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    return;
  }
  const user = decode(url.username);
  const password = decode(url.password);
  if (password !== '') secrets.addCredentials(user, password);
  else secrets.add(user);
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Every form a secret may travel in. */
function formsOf(secret: string): string[] {
  const forms = new Set<string>([secret]);
  const uri = encodeURIComponent(secret);
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  for (const encoded of [uri, form, uri.replace(/%20/g, '+')]) {
    forms.add(encoded);
    forms.add(encoded.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
  }
  forms.add(JSON.stringify(secret).slice(1, -1));
  const bytes = Buffer.from(secret, 'utf8');
  const whole = bytes.toString('base64');
  for (const b64 of [whole, whole.replace(/=+$/, ''), ...base64Cores(bytes)]) {
    forms.add(b64);
    forms.add(b64.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...forms];
}

/**
 * The base64 characters that depend only on the secret's bytes, for each of the three
 * alignments the secret can have inside a longer base64 text. Characters that mix in bits of
 * what comes before or after are left out, so the core matches wherever the secret sits.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let lead = 0; lead < 3; lead++) {
    const encoded = Buffer.concat([Buffer.alloc(lead), bytes]).toString('base64').replace(/=+$/, '');
    const skip = lead === 0 ? 0 : lead + 1; // chars holding bits of the lead bytes
    const total = (lead + bytes.length) * 8;
    const drop = total % 6 === 0 ? 0 : 1; // the last char mixes in bits of what follows
    cores.push(encoded.slice(skip, encoded.length - drop));
  }
  return cores;
}
