/**
 * HttpClient, the got-based client under every Canvas request: one attempt, keep-alive,
 * timeouts, aborts, and an honest "may it have been sent?" on every failure.
 */
import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../src/canvas/http.js';
import { failure } from './support/http.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(handler: http.RequestListener): Promise<{ url: URL; connections: () => number }> {
  let connections = 0;
  const server = http.createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x?y=1`), connections: () => connections };
}

function client(opts: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}): HttpClient {
  const c = new HttpClient({ concurrency: 4, timeoutMs: 5_000, ...opts });
  cleanups.push(() => c.close());
  return c;
}

describe('HttpClient', () => {
  it('posts the body with its length and reads the answer as text, whatever the status', async () => {
    const { url } = await serve((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
        res.writeHead(422, 'Nope', { 'retry-after': '3' });
        res.end(JSON.stringify({ method: req.method, path: req.url, length: req.headers['content-length'], ua: req.headers['user-agent'], body }));
      });
    });
    const res = await client().post(url, { body: 'é=1', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(422);
    expect(res.statusMessage).toBe('Nope');
    expect(res.headers['retry-after']).toBe('3');
    expect(JSON.parse(res.body)).toEqual({ method: 'POST', path: '/x?y=1', length: '4', ua: 'canvas-letters', body: 'é=1' });
  });

  it('keeps one connection alive across requests', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const c = client();
    for (let i = 0; i < 5; i++) expect((await c.get(server.url)).body).toBe('ok');
    expect(server.connections()).toBe(1);
  });

  it('a refused connection sent nothing', async () => {
    const { url } = await serve((_req, res) => res.end());
    const closed = new URL(url);
    closed.port = '1';
    const f = await failure(client().get(closed));
    expect(f).toMatchObject({ code: 'ECONNREFUSED', mayHaveReached: false });
  });

  it('times out connecting (nothing sent) when the host name never resolves', async () => {
    const never: LookupFunction = () => undefined;
    const f = await failure(client({ timeoutMs: 100, dnsLookup: never }).get(new URL('http://canvas.invalid/')));
    expect(f).toMatchObject({ code: 'ETIMEDOUT', mayHaveReached: false });
  });

  it('times out waiting for the answer on a connected socket: it may have been sent', async () => {
    const { url } = await serve(() => undefined);
    const f = await failure(client({ timeoutMs: 100 }).post(url, { body: 'x' }));
    expect(f).toMatchObject({ code: 'ETIMEDOUT', mayHaveReached: true, httpStatus: undefined });
  });

  it('a per-request timeout overrides the client one', async () => {
    const { url } = await serve(() => undefined);
    const f = await failure(client({ timeoutMs: 60_000 }).get(url, { timeoutMs: 80 }));
    expect(f.code).toBe('ETIMEDOUT');
  });

  it('a reset after the head arrived keeps the status', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(201, { 'content-length': '100' });
      res.write('{"id":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const f = await failure(client().post(url, { body: 'x' }));
    expect(f).toMatchObject({ mayHaveReached: true, httpStatus: 201 });
  });

  it('an abort before the request leaves sends nothing; an abort while waiting may have sent it', async () => {
    const { url } = await serve(() => undefined);
    const c = client();
    expect(await failure(c.get(url, { signal: AbortSignal.abort() }))).toMatchObject({ code: 'ERR_ABORTED', mayHaveReached: false });
    const ac = new AbortController();
    const p = c.post(url, { body: 'x', signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect(await failure(p)).toMatchObject({ code: 'ERR_ABORTED', mayHaveReached: true });
  });

  it('a failure carries codes only, never the request headers or body', async () => {
    const { url } = await serve((req) => req.socket.destroy());
    const f = await failure(client().post(url, { body: 'SECRET-BODY', headers: { authorization: 'Bearer SECRET-TOKEN' } }));
    expect(f.mayHaveReached).toBe(true);
    expect(JSON.stringify({ ...f, message: f.message, stack: f.stack })).not.toMatch(/SECRET/);
  });

  it('refuses an invalid header value before any socket', async () => {
    const { url } = await serve((_req, res) => res.end());
    const f = await failure(client().get(url, { headers: { authorization: 'Bearer a\nb' } }));
    expect(f).toMatchObject({ code: 'ERR_INVALID_CHAR', mayHaveReached: false });
  });
});
