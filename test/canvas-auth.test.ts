/**
 * TokenSource against a tiny local token endpoint: single flight, renewal near expiry and after
 * a 401, refused credentials, static tokens. Requests are counted in the server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, HttpClient, TokenSource, TokenUnavailableError, type CanvasConfig } from '../src/canvas/index.js';

const SECRET = 'client-Secret-XYZ-123';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface TokenServer {
  base: URL;
  requests: number;
  forms: URLSearchParams[];
  paths: string[];
}

/** A token endpoint answering with `answer(n)` for the n-th request (1-based), after `delayMs`. */
async function tokenServer(answer: (n: number) => { status: number; body: unknown }, delayMs = 20): Promise<TokenServer> {
  const state: TokenServer = { base: new URL('http://127.0.0.1/'), requests: 0, forms: [], paths: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const n = ++state.requests;
      state.forms.push(new URLSearchParams(body));
      state.paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const a = answer(n);
      setTimeout(() => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return state;
}

function httpInstance(): HttpClient {
  const h = new HttpClient({ concurrency: 16, timeoutMs: 5_000 });
  cleanups.push(() => h.close());
  return h;
}

const clientConfig = (base: URL): CanvasConfig => ({ baseUrl: base, credentials: { kind: 'client', clientId: 'my-client', clientSecret: SECRET } });
const ok = (token: string, expiresIn = 36_000) => ({ status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: 'x' } });

async function authError(p: Promise<unknown>): Promise<AuthError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(AuthError);
  const err = e as AuthError;
  for (const text of [err.message, String(err), JSON.stringify(err), err.stack ?? '']) expect(text).not.toContain(SECRET);
  return err;
}

describe('TokenSource', () => {
  it('fetches once for many concurrent callers, lazily, with client credentials', async () => {
    const srv = await tokenServer((n) => ok(`token-${n}`));
    const tokens = new TokenSource(httpInstance(), clientConfig(srv.base));
    expect(srv.requests).toBe(0);
    const got = await Promise.all(Array.from({ length: 16 }, () => tokens.token()));
    expect(new Set(got)).toEqual(new Set(['token-1']));
    expect(await tokens.token()).toBe('token-1');
    expect(srv.requests).toBe(1);
    expect(srv.paths[0]).toBe('POST /auth/token/ application/x-www-form-urlencoded');
    expect(Object.fromEntries(srv.forms[0]!)).toEqual({ grant_type: 'client_credentials', client_id: 'my-client', client_secret: SECRET });
  });

  it('renews shortly before expiry (min(60 s, 10 % of the lifetime) left)', async () => {
    const srv = await tokenServer((n) => ok(`token-${n}`, 1000));
    let now = 1_000_000;
    const tokens = new TokenSource(httpInstance(), clientConfig(srv.base), { now: () => now });
    expect(await tokens.token()).toBe('token-1');
    now += 939_000; // 61 s left
    expect(await tokens.token()).toBe('token-1');
    now += 2_000; // 59 s left
    expect(await tokens.token()).toBe('token-2');
    expect(srv.requests).toBe(2);
  });

  it('uses 10 % of a short lifetime as the margin', async () => {
    const srv = await tokenServer((n) => ok(`token-${n}`, 100));
    let now = 0;
    const tokens = new TokenSource(httpInstance(), clientConfig(srv.base), { now: () => now });
    await tokens.token();
    now = 89_000;
    expect(await tokens.token()).toBe('token-1');
    now = 91_000;
    expect(await tokens.token()).toBe('token-2');
  });

  it('16 concurrent renew(stale) make one token request; an older stale token makes none', async () => {
    const srv = await tokenServer((n) => ok(`token-${n}`));
    const tokens = new TokenSource(httpInstance(), clientConfig(srv.base));
    const first = await tokens.token();
    const renewed = await Promise.all(Array.from({ length: 16 }, () => tokens.renew(first)));
    expect(new Set(renewed)).toEqual(new Set(['token-2']));
    expect(await tokens.renew(first)).toBe('token-2');
    expect(srv.requests).toBe(2);
    expect(await tokens.renew('token-2')).toBe('token-3');
    expect(tokens.tokenRequests).toBe(3);
  });

  it('refused credentials → AuthError naming the variables, without the secret', async () => {
    for (const status of [400, 401, 403]) {
      const srv = await tokenServer(() => ({ status, body: { error: 'invalid_client', error_description: `bad secret ${SECRET}` } }));
      const err = await authError(new TokenSource(httpInstance(), clientConfig(srv.base)).token());
      expect(err.message).toContain(`HTTP ${status}, invalid_client`);
      expect(err.message).toContain('CANVAS_CLIENT_SECRET');
    }
  });

  it('a token endpoint that is not there → AuthError pointing at CANVAS_BASE_URL', async () => {
    const notFound = await tokenServer(() => ({ status: 404, body: '<html>no</html>' }));
    expect((await authError(new TokenSource(httpInstance(), clientConfig(notFound.base)).token())).message).toContain('CANVAS_BASE_URL');
    const html = await tokenServer(() => ({ status: 200, body: '<html>login</html>' }));
    expect((await authError(new TokenSource(httpInstance(), clientConfig(html.base)).token())).message).toContain('without an access token');
  });

  it('a transient failure is TokenUnavailableError and is not cached', async () => {
    const srv = await tokenServer((n) => (n === 1 ? { status: 503, body: '' } : ok('token-2')));
    const tokens = new TokenSource(httpInstance(), clientConfig(srv.base));
    const e = await tokens.token().then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(TokenUnavailableError);
    expect(String(e)).not.toContain(SECRET);
    expect(await tokens.token()).toBe('token-2');
    expect(srv.requests).toBe(2);
  });

  it('a static CANVAS_ACCESS_TOKEN is used as is and cannot be renewed', async () => {
    const srv = await tokenServer(() => ok('never'));
    const token = 'static-Token-Secret-77';
    const tokens = new TokenSource(httpInstance(), { baseUrl: srv.base, credentials: { kind: 'token', accessToken: token } });
    expect(await tokens.token()).toBe(token);
    expect(tokens.isStatic).toBe(true);
    const err = await authError(tokens.renew(token));
    expect(err.message).toContain('CANVAS_ACCESS_TOKEN');
    expect(err.message).not.toContain(token);
    expect(srv.requests).toBe(0);
  });
});
