/**
 * Bearer tokens for Canvas. With client credentials the token is fetched on first use (so the
 * credentials are only used when there is something to send), cached, renewed shortly before it
 * expires and after a 401; concurrent callers share one token request. A static
 * CANVAS_ACCESS_TOKEN cannot be renewed. No message here ever contains a secret or a token.
 *
 * The token source holds the run's `Secrets`: the client secret (and `id:secret`), the static
 * token, the proxy credentials of the environment, and every token it is issued, first and
 * renewed. Whatever reports a server's words redacts them with it.
 */
import { CanvasLettersError } from '../errors.js';
import { ENV_ACCESS_TOKEN, ENV_BASE_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, type CanvasConfig } from './config.js';
import { secretsFromEnvironment, type Secrets } from './redact.js';
import { inspectFailure, parseRetryAfter } from './responses.js';
import type { HttpClient } from './http.js';

/** The token endpoint could not be reached or answered 429/5xx: nothing was sent, try again later. */
export class TokenUnavailableError extends CanvasLettersError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Canvas will not authenticate us: the credentials or the static token were refused, or the
 * token endpoint is not where CANVAS_BASE_URL says. The run cannot go on (exitCode 2 when
 * nothing was sent yet; the caller decides).
 */
export class AuthError extends CanvasLettersError {}

interface Cached {
  token: string;
  /** When to fetch a new one: min(60 s, 10 % of the lifetime) before expiry; Infinity if no expiry was given. */
  renewAt: number;
}

export class TokenSource {
  private readonly http: HttpClient;
  private readonly config: CanvasConfig;
  private readonly now: () => number;
  private readonly timeoutMs?: number;
  private readonly tokenUrl: URL;
  private current?: Cached;
  private inflight?: Promise<string>;
  private requests = 0;
  /** Every secret of the run, for redacting what servers say. */
  readonly secrets: Secrets;

  constructor(http: HttpClient, config: CanvasConfig, opts: { now?: () => number; timeoutMs?: number; secrets?: Secrets } = {}) {
    this.http = http;
    this.config = config;
    this.secrets = opts.secrets ?? secretsFromEnvironment();
    const creds = config.credentials;
    if (creds.kind === 'token') this.secrets.add(creds.accessToken);
    else this.secrets.addCredentials(creds.clientId, creds.clientSecret);
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs;
    this.tokenUrl = new URL('auth/token/', config.baseUrl);
  }

  /** True when the token is a static CANVAS_ACCESS_TOKEN (cannot be renewed). */
  get isStatic(): boolean {
    return this.config.credentials.kind === 'token';
  }

  /** How many token requests were made (for diagnostics and tests). */
  get tokenRequests(): number {
    return this.requests;
  }

  /** The current token; fetched on first use and when close to expiry. Throws AuthError or TokenUnavailableError. */
  async token(): Promise<string> {
    const creds = this.config.credentials;
    if (creds.kind === 'token') return creds.accessToken;
    if (this.current && this.now() < this.current.renewAt) return this.current.token;
    return this.fetchShared();
  }

  /**
   * After a 401 with `stale`: a new token, fetched only if `stale` is still the current one
   * (so many concurrent 401s make one request). A static token cannot be renewed: AuthError.
   */
  async renew(stale: string): Promise<string> {
    if (this.config.credentials.kind === 'token') {
      throw new AuthError(
        `Canvas refused ${ENV_ACCESS_TOKEN} (HTTP 401) and a static token cannot be renewed`,
        `set a fresh ${ENV_ACCESS_TOKEN}, or use ${ENV_CLIENT_ID} + ${ENV_CLIENT_SECRET}`,
      );
    }
    if (this.inflight) return this.inflight;
    if (this.current && this.current.token !== stale) return this.token();
    this.current = undefined;
    return this.fetchShared();
  }

  private fetchShared(): Promise<string> {
    if (!this.inflight) {
      this.inflight = this.fetch().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private async fetch(): Promise<string> {
    const creds = this.config.credentials;
    if (creds.kind !== 'client') throw new Error('unreachable');
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.clientSecret });
    this.requests++;
    const requestedAt = this.now();
    let status: number;
    let body: string;
    let retryAfter: string | undefined;
    try {
      const res = await this.http.post(this.tokenUrl, {
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        timeoutMs: this.timeoutMs,
      });
      status = res.status;
      body = res.body;
      retryAfter = res.headers['retry-after'];
    } catch (error) {
      const f = inspectFailure(error);
      if (f.tls) throw new AuthError(`token request failed: ${f.reason}`, `check ${ENV_BASE_URL} and this machine's trusted certificates`);
      throw new TokenUnavailableError(`token request failed: ${f.reason}`);
    }
    if (status >= 200 && status < 300) return this.accept(body, requestedAt);
    if (status === 429 || status >= 500) {
      throw new TokenUnavailableError(`token request failed: HTTP ${status}`, status === 429 || status === 503 ? parseRetryAfter(retryAfter) : undefined);
    }
    if (status === 400 || status === 401 || status === 403) {
      const code = oauthError(body);
      throw new AuthError(
        this.secrets.redact(`Canvas refused the client credentials (HTTP ${status}${code ? `, ${code}` : ''})`),
        `check ${ENV_CLIENT_ID} and ${ENV_CLIENT_SECRET}`,
      );
    }
    throw new AuthError(`the token endpoint answered HTTP ${status}`, `check ${ENV_BASE_URL}: it must be the instance address, e.g. https://<instance>.canvasmedical.com`);
  }

  private accept(body: string, at: number): string {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
    const token = o.access_token;
    if (typeof token !== 'string' || token.trim() === '' || /\s/.test(token.trim())) {
      throw new AuthError('the token endpoint answered without an access token', `check ${ENV_BASE_URL}`);
    }
    const lifetimeS = typeof o.expires_in === 'number' ? o.expires_in : typeof o.expires_in === 'string' ? Number(o.expires_in) : NaN;
    let renewAt = Infinity;
    if (Number.isFinite(lifetimeS) && lifetimeS > 0) {
      const lifetime = lifetimeS * 1000;
      renewAt = at + lifetime - Math.min(60_000, lifetime * 0.1);
    }
    this.secrets.add(token.trim());
    this.current = { token: token.trim(), renewAt };
    return this.current.token;
  }
}

/** The OAuth `error` code of a refusal (e.g. invalid_client), when it looks like one. */
function oauthError(body: string): string | undefined {
  try {
    const o = JSON.parse(body) as unknown;
    const code = typeof o === 'object' && o !== null ? (o as Record<string, unknown>).error : undefined;
    return typeof code === 'string' && /^[a-z_]{1,64}$/i.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}
