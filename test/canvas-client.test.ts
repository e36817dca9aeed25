/**
 * CanvasClient.createLetter against tiny local servers: every way an attempt can end is
 * classified, nothing is followed or retried, and no secret appears in an outcome.
 */
import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectFailure } from '../src/canvas/responses.js';
import { HttpFailure } from '../src/canvas/http.js';
import { CanvasClient, HttpClient, TokenSource, parseRetryAfter, type AttemptOutcome, type CanvasConfig, type LetterRequest } from '../src/canvas/index.js';

const TOKEN = 'tok-SECRET-abc123';
const LETTER: LetterRequest = { patientKey: 'pat-1', providerKey: 'prov-1', practiceLocationKey: 'loc-1', content: '<p>Dear patient</p>' };

interface Server {
  url: string;
  requests: number;
  connections: number;
  bodies: string[];
  auth: (string | undefined)[];
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(handler: Handler): Promise<Server> {
  const state = { requests: 0, connections: 0, bodies: [] as string[], auth: [] as (string | undefined)[] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      state.requests++;
      state.bodies.push(body);
      state.auth.push(req.headers.authorization);
      handler(req, res, body);
    });
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const s: Server = Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  });
  cleanups.push(() => s.close());
  return s;
}

function client(baseUrl: string, opts: { timeoutMs?: number; dnsLookup?: LookupFunction; idleSocketMs?: number } = {}): CanvasClient {
  const config: CanvasConfig = { baseUrl: new URL(`${baseUrl}/`), credentials: { kind: 'token', accessToken: TOKEN } };
  const httpInstance = new HttpClient({ concurrency: 4, timeoutMs: opts.timeoutMs ?? 5_000, dnsLookup: opts.dnsLookup, idleSocketMs: opts.idleSocketMs });
  const c = new CanvasClient({ http: httpInstance, config, tokens: new TokenSource(httpInstance, config) });
  cleanups.push(() => c.close());
  return c;
}

function reply(status: number, body = '', headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

async function attempt(handler: Handler, opts?: Parameters<typeof client>[1]): Promise<{ out: AttemptOutcome; server: Server }> {
  const server = await serve(handler);
  const out = await client(server.url, opts).createLetter(LETTER, TOKEN);
  expect(JSON.stringify(out)).not.toContain(TOKEN);
  return { out, server };
}

const outcome = async (handler: Handler) => (await attempt(handler)).out;

describe('createLetter: answers', () => {
  it('posts the letter as JSON with the bearer token and reads a 201 letterKey', async () => {
    const { out, server } = await attempt(reply(201, JSON.stringify({ letterKey: 'L-1' }), { 'content-type': 'application/json' }));
    expect(out).toEqual({ kind: 'created', httpStatus: 201, letterId: 'L-1' });
    expect(JSON.parse(server.bodies[0]!)).toEqual(LETTER);
    expect(server.auth[0]).toBe(`Bearer ${TOKEN}`);
  });

  it('accepts an empty or non-JSON 2xx body', async () => {
    expect(await outcome(reply(200))).toEqual({ kind: 'created', httpStatus: 200, letterId: undefined });
    expect(await outcome(reply(200, 'OK, created'))).toEqual({ kind: 'created', httpStatus: 200, letterId: undefined });
  });

  it('finds the identifier under id, key or data.id', async () => {
    expect(await outcome(reply(201, '{"id": 42}'))).toMatchObject({ letterId: '42' });
    expect(await outcome(reply(201, '{"key": "k-9"}'))).toMatchObject({ letterId: 'k-9' });
    expect(await outcome(reply(201, '{"data": {"id": "d-7"}}'))).toMatchObject({ letterId: 'd-7' });
  });

  it('422 OperationOutcome → rejected with the details text', async () => {
    const oo = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', details: { text: 'Patient not found' } }, { severity: 'error', code: 'x', details: { text: 'Bad location' } }] };
    expect(await outcome(reply(422, JSON.stringify(oo)))).toEqual({ kind: 'rejected', httpStatus: 422, message: 'Patient not found; Bad location' });
    const diag = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', diagnostics: 'content too long' }] };
    expect(await outcome(reply(400, JSON.stringify(diag)))).toEqual({ kind: 'rejected', httpStatus: 400, message: 'content too long' });
    expect(await outcome(reply(404, '<html>nope</html>'))).toEqual({ kind: 'rejected', httpStatus: 404, message: 'Not Found' });
  });

  it('401 → unauthorized, 403 → forbidden', async () => {
    expect(await outcome(reply(401))).toEqual({ kind: 'unauthorized', httpStatus: 401 });
    expect(await outcome(reply(403, JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ details: { text: 'No scope' } }] })))).toEqual({
      kind: 'forbidden',
      httpStatus: 403,
      message: 'No scope',
    });
  });

  it('429 and 503 → retryable with Retry-After in ms (seconds or HTTP date, capped at 60 s)', async () => {
    expect(await outcome(reply(429, '', { 'retry-after': '7' }))).toMatchObject({ kind: 'retryable', httpStatus: 429, retryAfterMs: 7000 });
    expect(await outcome(reply(429, '', { 'retry-after': '3600' }))).toMatchObject({ retryAfterMs: 60_000 });
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const out = await outcome(reply(429, '', { 'retry-after': inTenSeconds }));
    expect(out.kind === 'retryable' && out.retryAfterMs).toBeGreaterThan(7_000);
    expect(out.kind === 'retryable' && out.retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(await outcome(reply(503))).toMatchObject({ kind: 'retryable', httpStatus: 503, retryAfterMs: undefined });
  });

  it('500, 502, 504 → unknown (may have been created)', async () => {
    for (const status of [500, 502, 504, 599]) expect(await outcome(reply(status))).toMatchObject({ kind: 'unknown', httpStatus: status });
  });

  it('3xx is not followed: rejected, pointing at CANVAS_BASE_URL', async () => {
    const { out, server } = await attempt(reply(302, '', { location: '/elsewhere' }));
    expect(out).toMatchObject({ kind: 'rejected', httpStatus: 302 });
    expect(out.kind === 'rejected' && out.message).toContain('CANVAS_BASE_URL');
    expect(server.requests).toBe(1);
  });
});

describe('createLetter: network failures', () => {
  it('socket destroyed after the request was read → unknown', async () => {
    const { out, server } = await attempt((req) => req.socket.destroy());
    expect(out).toMatchObject({ kind: 'unknown' });
    expect(server.requests).toBe(1);
  });

  it('no answer within the timeout → unknown', async () => {
    const { out, server } = await attempt(() => undefined, { timeoutMs: 200 });
    expect(out).toEqual({ kind: 'unknown', reason: 'no answer within the timeout' });
    expect(server.requests).toBe(1);
  });

  it('connection refused (a closed port) → retryable', async () => {
    const server = await serve(reply(201));
    const url = server.url;
    await server.close();
    expect(await client(url).createLetter(LETTER, TOKEN)).toEqual({ kind: 'retryable', reason: 'connection refused' });
  });

  it('DNS failure → retryable (lookup injected: nothing leaves the machine)', async () => {
    let lookups = 0;
    const dnsLookup = ((hostname: string, _o: unknown, cb: (e: NodeJS.ErrnoException) => void) => {
      lookups++;
      const e: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      process.nextTick(cb, e);
    }) as unknown as LookupFunction;
    const out = await client('https://nonexistent.invalid', { dnsLookup }).createLetter(LETTER, TOKEN);
    expect(out).toEqual({ kind: 'retryable', reason: 'host name lookup failed' });
    expect(lookups).toBe(1);
  });

  it('a timeout before anything was written (name lookup hangs) → retryable', async () => {
    const hang = (() => undefined) as unknown as LookupFunction;
    const out = await client('https://hangs.invalid', { dnsLookup: hang, timeoutMs: 150 }).createLetter(LETTER, TOKEN);
    expect(out).toEqual({ kind: 'retryable', reason: 'timed out connecting' });
  });

  it('a 2xx head whose body is cut off still means created', async () => {
    const { out } = await attempt((_req, res) => {
      res.writeHead(201, { 'content-length': '100' });
      res.write('{"letterKey":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(out).toEqual({ kind: 'created', httpStatus: 201, letterId: undefined });
  });
});

describe('createLetter: connections', () => {
  it('keep-alive reuses one socket for sequential requests', async () => {
    const server = await serve(reply(201, '{"id":"x"}'));
    const c = client(server.url);
    for (let i = 0; i < 5; i++) expect((await c.createLetter(LETTER, TOKEN)).kind).toBe('created');
    expect(server.requests).toBe(5);
    expect(server.connections).toBe(1);
  });

  it('the idle-socket limit does not cut a slow answer short', async () => {
    const { out } = await attempt((_req, res) => setTimeout(() => res.end('{"id":"slow"}'), 300), { idleSocketMs: 50 });
    expect(out).toEqual({ kind: 'created', httpStatus: 200, letterId: 'slow' });
  });

  it('sends the token it is given as the bearer, and never leaks it', async () => {
    const server = await serve(reply(400, `{"detail":"bad token ${TOKEN}"}`));
    const out = await client(server.url).createLetter(LETTER, TOKEN);
    expect(out.kind).toBe('rejected');
    expect(JSON.stringify(out)).not.toContain(TOKEN);
    expect(server.auth[0]).toBe(`Bearer ${TOKEN}`);
  });
});

describe('inspectFailure: was anything sent?', () => {
  const f = (code: string, sent: boolean, status?: number) => inspectFailure(new HttpFailure(code, sent, status));
  it('nothing was sent until the connection (and TLS handshake) was up', () => {
    expect(f('ETIMEDOUT', false)).toMatchObject({ sent: false, reason: 'timed out connecting' });
    expect(f('ECONNRESET', false)).toMatchObject({ sent: false, tls: false, reason: 'connection reset while connecting' });
    expect(f('DEPTH_ZERO_SELF_SIGNED_CERT', false)).toMatchObject({ sent: false, tls: true });
    expect(f('ERR_ABORTED', false)).toMatchObject({ sent: false, aborted: true });
    expect(f('ECONNREFUSED', false)).toMatchObject({ sent: false, reason: 'connection refused' });
    expect(f('EAI_AGAIN', false)).toMatchObject({ sent: false, reason: 'host name lookup failed' });
  });
  it('a connected socket may have carried the request', () => {
    expect(f('ECONNRESET', true)).toMatchObject({ sent: true, reason: 'connection reset before the answer' });
    expect(f('ERR_SSL_BAD_RECORD_MAC', true)).toMatchObject({ sent: true, tls: false });
    expect(f('EPIPE', true)).toMatchObject({ sent: true });
    expect(f('ECONNRESET', true, 201)).toMatchObject({ sent: true, httpStatus: 201 });
  });
  it('an error that is not an HttpFailure counts as possibly sent', () => {
    expect(inspectFailure(new Error('boom'))).toMatchObject({ sent: true, reason: 'network error' });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and dates, caps at 60 s, ignores junk', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('999', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
