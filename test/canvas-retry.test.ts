/**
 * sendWithRetry against a scripted local server (token endpoint + letter endpoint). Backoff is
 * made instant and deterministic with injected `sleep` and `random`; requests are counted in
 * the server, never inferred from timing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CanvasClient, HttpClient, TokenSource, sendWithRetry, type CanvasConfig, type LetterRequest, type LetterRetryOptions, type LetterResult } from '../src/canvas/index.js';

const SECRET = 'client-Secret-RETRY-1';
const LETTER: LetterRequest = { patientKey: 'patient-7781', providerKey: 'prov-1', practiceLocationKey: 'loc-1', content: '<p>Very private content</p>' };

type Step = { status: number; body?: string; headers?: Record<string, string> };
interface Scripted {
  base: URL;
  letters: number;
  tokens: number;
  auth: string[];
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Letter requests get `script` in order (the last step repeats); tokens are token-1, token-2, … */
async function scripted(script: Step[], tokenStep?: Step): Promise<Scripted> {
  const s: Scripted = { base: new URL('http://127.0.0.1/'), letters: 0, tokens: 0, auth: [] };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/auth/token/') {
        const n = ++s.tokens;
        const t = tokenStep ?? { status: 200, body: JSON.stringify({ access_token: `token-${n}`, token_type: 'Bearer', expires_in: 36000 }) };
        res.writeHead(t.status, { 'content-type': 'application/json' });
        return res.end(t.body ?? '');
      }
      const step = script[Math.min(s.letters++, script.length - 1)]!;
      s.auth.push(req.headers.authorization ?? '');
      res.writeHead(step.status, step.headers ?? {});
      res.end(step.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return s;
}

function setup(base: URL, credentials: CanvasConfig['credentials'] = { kind: 'client', clientId: 'cid', clientSecret: SECRET }) {
  const config: CanvasConfig = { baseUrl: base, credentials };
  const h = new HttpClient({ concurrency: 2, timeoutMs: 5_000 });
  const tokens = new TokenSource(h, config);
  const client = new CanvasClient({ http: h, config, tokens });
  cleanups.push(() => client.close());
  return { client, tokens };
}

async function send(base: URL, opts: LetterRetryOptions = {}, credentials?: CanvasConfig['credentials']) {
  const { client, tokens } = setup(base, credentials);
  const sleeps: number[] = [];
  const result = await sendWithRetry(client, tokens, LETTER, {
    random: () => 0.5,
    sleep: async (ms) => void sleeps.push(ms),
    ...opts,
  });
  expectClean(result);
  return { result, sleeps };
}

function expectClean(result: LetterResult): void {
  const text = JSON.stringify(result);
  for (const s of [SECRET, 'token-1', 'token-2', LETTER.content, LETTER.patientKey]) expect(text).not.toContain(s);
}

const oo = (text: string) => JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', details: { text } }] });

describe('sendWithRetry', () => {
  it('429, 429, 201 → sent after 3 attempts with full-jitter backoff', async () => {
    const srv = await scripted([{ status: 429 }, { status: 429 }, { status: 201, body: '{"letterKey":"L-9"}' }]);
    const retries: number[] = [];
    const { result, sleeps } = await send(srv.base, { onRetry: (i) => retries.push(i.attempt) });
    expect(result).toEqual({ status: 'sent', httpStatus: 201, letterId: 'L-9', attempts: 3 });
    expect(sleeps).toEqual([250, 500]); // 0.5 × 500, 0.5 × 1000
    expect(retries).toEqual([1, 2]);
    expect(srv.letters).toBe(3);
  });

  it('5 × 503 → failed after 5 attempts (nothing was created)', async () => {
    const srv = await scripted([{ status: 503 }]);
    const { result, sleeps } = await send(srv.base, { maxDelayMs: 1000 });
    expect(result).toMatchObject({ status: 'failed', httpStatus: 503, attempts: 5 });
    expect(result.error).toMatch(/HTTP 503.*gave up after 5 attempts/);
    expect(sleeps).toEqual([250, 500, 500, 500]);
    expect(srv.letters).toBe(5);
  });

  it('honours Retry-After instead of the backoff', async () => {
    const srv = await scripted([{ status: 503, headers: { 'retry-after': '7' } }, { status: 429, headers: { 'retry-after': '120' } }, { status: 201 }]);
    const { result, sleeps } = await send(srv.base);
    expect(result).toMatchObject({ status: 'sent', attempts: 3 });
    expect(sleeps).toEqual([7000, 60_000]);
  });

  it('401 then 201 → sent with one token renewal', async () => {
    const srv = await scripted([{ status: 401 }, { status: 201 }]);
    const { result, sleeps } = await send(srv.base);
    expect(result).toMatchObject({ status: 'sent', httpStatus: 201, attempts: 2 });
    expect(srv.tokens).toBe(2);
    expect(srv.auth).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(sleeps).toEqual([]);
  });

  it('401, 401 → fatal (stop the run)', async () => {
    const srv = await scripted([{ status: 401 }]);
    const { result } = await send(srv.base);
    expect(result).toMatchObject({ status: 'fatal', httpStatus: 401, attempts: 2 });
    expect(srv.letters).toBe(2);
  });

  it('401 with a static access token → fatal, naming CANVAS_ACCESS_TOKEN', async () => {
    const srv = await scripted([{ status: 401 }]);
    const { result } = await send(srv.base, {}, { kind: 'token', accessToken: 'token-1' });
    expect(result).toMatchObject({ status: 'fatal', attempts: 1 });
    expect(result.error).toContain('CANVAS_ACCESS_TOKEN');
    expect(srv.letters).toBe(1);
  });

  it('403 → fatal with the server message', async () => {
    const srv = await scripted([{ status: 403, body: oo('Insufficient scope') }]);
    const { result } = await send(srv.base);
    expect(result).toMatchObject({ status: 'fatal', httpStatus: 403, attempts: 1 });
    expect(result.error).toContain('Insufficient scope');
  });

  it('refused credentials → fatal before any letter request', async () => {
    const srv = await scripted([{ status: 201 }], { status: 401, body: '{"error":"invalid_client"}' });
    const { result } = await send(srv.base);
    expect(result).toMatchObject({ status: 'fatal', attempts: 1 });
    expect(result.error).toContain('CANVAS_CLIENT_SECRET');
    expect(srv.letters).toBe(0);
  });

  it('500 → unknown after 1 attempt, never resent', async () => {
    const srv = await scripted([{ status: 500 }, { status: 201 }]);
    const { result, sleeps } = await send(srv.base);
    expect(result).toMatchObject({ status: 'unknown', httpStatus: 500, attempts: 1 });
    expect(result.error).toContain('may have been created');
    expect(srv.letters).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('422 → failed with the OperationOutcome text', async () => {
    const srv = await scripted([{ status: 422, body: oo('providerKey is not a provider') }]);
    const { result } = await send(srv.base);
    expect(result).toEqual({ status: 'failed', httpStatus: 422, attempts: 1, error: 'providerKey is not a provider' });
  });

  it('connection refused every time → failed after 5 attempts', async () => {
    const srv = await scripted([{ status: 201 }]);
    for (const c of cleanups.splice(0)) await c(); // the port is closed before any connection
    const { result, sleeps } = await send(srv.base, {}, { kind: 'token', accessToken: 'token-1' });
    expect(result).toMatchObject({ status: 'failed', attempts: 5 });
    expect(result.error).toContain('connection refused');
    expect(sleeps).toHaveLength(4);
  });

  it('a token endpoint that cannot be reached counts as a failed attempt and is retried', async () => {
    const srv = await scripted([{ status: 201 }], { status: 502 });
    const { result } = await send(srv.base);
    expect(result).toMatchObject({ status: 'failed', attempts: 5 });
    expect(result.error).toContain('token request failed: HTTP 502');
    expect(srv.tokens).toBe(5);
    expect(srv.letters).toBe(0);
  });

  it('abort during backoff → aborted, no further request', async () => {
    const srv = await scripted([{ status: 503 }, { status: 201 }]);
    const { client, tokens } = setup(srv.base);
    const controller = new AbortController();
    const started = Date.now();
    // Real (default) sleep with a long delay: the abort must cut it short.
    const pending = sendWithRetry(client, tokens, LETTER, { signal: controller.signal, baseDelayMs: 60_000, random: () => 1, onRetry: () => controller.abort() });
    const result = await pending;
    expect(result).toMatchObject({ status: 'aborted', attempts: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(srv.letters).toBe(1);
  });

  it('an already aborted signal sends nothing', async () => {
    const srv = await scripted([{ status: 201 }]);
    const { result } = await send(srv.base, { signal: AbortSignal.abort() });
    expect(result).toMatchObject({ status: 'aborted', attempts: 0 });
    expect(srv.letters + srv.tokens).toBe(0);
  });

  it('a signal that fires while the token is being fetched (a renewal in flight) → aborted, no letter request', async () => {
    const srv = await scripted([{ status: 201 }]);
    const { client } = setup(srv.base);
    const controller = new AbortController();
    let release!: (token: string) => void;
    let tokenCalls = 0;
    const tokens = {
      token: () => {
        tokenCalls++;
        return new Promise<string>((resolve) => (release = resolve));
      },
      renew: () => Promise.reject(new Error('not expected')),
    } as unknown as TokenSource;
    const pending = sendWithRetry(client, tokens, LETTER, { signal: controller.signal, sleep: async () => undefined });
    await new Promise((r) => setImmediate(r));
    expect(tokenCalls).toBe(1);
    controller.abort();
    release('token-1');
    expect(await pending).toMatchObject({ status: 'aborted', attempts: 1 });
    expect(srv.letters).toBe(0);
  });

  it('a signal that fires while a letter request is in flight and then answered 401 → aborted, no token renewal', async () => {
    const controller = new AbortController();
    let renewals = 0;
    const tokens = { token: async () => 'token-1', renew: async () => (renewals++, 'token-2') } as unknown as TokenSource;
    let letters = 0;
    const client = {
      createLetter: async () => {
        letters++;
        controller.abort(); // Ctrl-C while the request is in flight
        return { kind: 'unauthorized', httpStatus: 401 };
      },
    } as unknown as CanvasClient;
    const result = await sendWithRetry(client, tokens, LETTER, { signal: controller.signal, sleep: async () => undefined });
    expect(result).toMatchObject({ status: 'aborted', attempts: 1, httpStatus: 401 });
    expect(letters).toBe(1);
    expect(renewals).toBe(0);
  });
});

