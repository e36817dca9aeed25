/**
 * Which requests go through the proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY), and what a failure
 * through a CONNECT tunnel tells: a refusal by the proxy sent nothing to Canvas; a timeout
 * inside an open tunnel may have reached it.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../src/canvas/http.js';
import { failure } from './support/http.js';
import { isLoopback, proxyFor, proxySettings } from '../src/canvas/proxy.js';
import { ConfigError } from '../src/errors.js';

const P = 'http://user:pw@proxy.example:3128';
const via = (url: string, env: Record<string, string>) => proxyFor(new URL(url), proxySettings(env))?.href;

describe('proxyFor', () => {
  it('takes HTTPS_PROXY for https and HTTP_PROXY for http, the lower-case form first', () => {
    expect(via('https://x.canvasmedical.com/', { HTTPS_PROXY: P })).toBe(`${P}/`);
    expect(via('http://x.canvasmedical.com/', { HTTPS_PROXY: P })).toBeUndefined();
    expect(via('http://x.canvasmedical.com/', { HTTP_PROXY: 'proxy.example:8080' })).toBe('http://proxy.example:8080/');
    expect(via('https://x.canvasmedical.com/', { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2' })).toBe('http://lower:2/');
    expect(via('https://x.canvasmedical.com/', { HTTPS_PROXY: 'http://upper:1', https_proxy: ' ' })).toBe('http://upper:1/');
    expect(via('https://x.canvasmedical.com/', {})).toBeUndefined();
  });

  it('never proxies loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '[::1]', 'localhost', 'LOCALHOST.', 'a.localhost']) {
      expect(via(`https://${host}:8443/`, { HTTPS_PROXY: P }), host).toBeUndefined();
    }
    expect(isLoopback('128.0.0.1')).toBe(false);
    expect(isLoopback('localhost.example')).toBe(false);
  });

  it('honours NO_PROXY: names with their subdomains, leading dots, *, ports, addresses and ranges', () => {
    const env = (no: string) => ({ HTTPS_PROXY: P, no_proxy: no });
    expect(via('https://canvasmedical.com/', env('canvasmedical.com'))).toBeUndefined();
    expect(via('https://x.canvasmedical.com/', env('canvasmedical.com'))).toBeUndefined();
    expect(via('https://x.canvasmedical.com/', env('.canvasmedical.com'))).toBeUndefined();
    expect(via('https://x.canvasmedical.com/', env('*.canvasmedical.com'))).toBeUndefined();
    expect(via('https://notcanvasmedical.com/', env('canvasmedical.com'))).toBe(`${P}/`);
    expect(via('https://x.canvasmedical.com/', env('a.org, x.canvasmedical.com:443'))).toBeUndefined();
    expect(via('https://x.canvasmedical.com:8443/', env('x.canvasmedical.com:443'))).toBe(`${P}/`);
    expect(via('https://anything.example/', env('*'))).toBeUndefined();
    expect(via('https://10.1.2.3/', env('10.0.0.0/8'))).toBeUndefined();
    expect(via('https://11.1.2.3/', env('10.0.0.0/8'))).toBe(`${P}/`);
    expect(via('https://192.168.1.5/', env('192.168.1.5'))).toBeUndefined();
    expect(via('https://[fd00::5]/', env('fd00::/8'))).toBeUndefined();
    expect(via('https://X.Example.ORG/', { HTTPS_PROXY: P, NO_PROXY: 'example.org' })).toBeUndefined();
  });

  it('refuses an unusable proxy variable without showing its value', () => {
    const bad = () => proxySettings({ HTTPS_PROXY: 'socks5://user:SECRET-PW@proxy:1080' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/HTTPS_PROXY/);
    expect(bad).not.toThrow(/SECRET-PW/);
    expect(() => proxySettings({ http_proxy: 'http://user:SECRET-PW@[bad' })).toThrow(/^HTTP_PROXY is not a URL/);
  });
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return (server.address() as AddressInfo).port;
}

/** A CONNECT proxy that tunnels every request to `targetPort` on 127.0.0.1, or refuses with 407. */
async function connectProxy(targetPort: number, refuse = false): Promise<{ url: string; tunnels: () => number }> {
  let tunnels = 0;
  const proxy = http.createServer();
  proxy.on('connect', (_req, client: net.Socket) => {
    if (refuse) return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
    tunnels++;
    const upstream = net.connect(targetPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return { url: `http://127.0.0.1:${await listen(proxy)}`, tunnels: () => tunnels };
}

function client(env: Record<string, string>): HttpClient {
  const c = new HttpClient({ concurrency: 2, timeoutMs: 300, env });
  cleanups.push(() => c.close());
  return c;
}

describe('HttpClient through a proxy', () => {
  it('reaches a host only the proxy knows, over one kept-alive tunnel', async () => {
    const target = await listen(http.createServer((req, res) => res.end(`host ${req.headers.host}`)));
    const proxy = await connectProxy(target);
    const c = client({ HTTP_PROXY: proxy.url });
    for (let i = 0; i < 3; i++) expect((await c.get(new URL('http://canvas.test/x'))).body).toBe('host canvas.test');
    expect(proxy.tunnels()).toBe(1);
  });

  it('a refusal by the proxy sent nothing to the server', async () => {
    const proxy = await connectProxy(1, true);
    const f = await failure(client({ HTTP_PROXY: proxy.url }).post(new URL('http://canvas.test/x'), { body: 'x' }));
    expect(f).toMatchObject({ code: 'ERR_PROXY_REFUSED', mayHaveReached: false });
  });

  it('a timeout inside an open tunnel may have reached the server', async () => {
    const target = await listen(http.createServer(() => undefined));
    const proxy = await connectProxy(target);
    const f = await failure(client({ HTTP_PROXY: proxy.url }).post(new URL('http://canvas.test/x'), { body: 'x' }));
    expect(f).toMatchObject({ code: 'ETIMEDOUT', mayHaveReached: true });
  });
});
