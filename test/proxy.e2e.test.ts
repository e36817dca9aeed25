/**
 * End-to-end through an HTTP proxy: the built CLI's `send` to an https Canvas named
 * `canvas.test`, a name only the test's CONNECT proxy knows (it connects every tunnel to the
 * https front of the sandbox on 127.0.0.1, so the client can only get there through the proxy).
 * A loopback base URL goes direct even with HTTPS_PROXY set. The proxy's password never shows.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCliAsync, tempDir } from './support/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'tls-proxy');
const PROXY_PASSWORD = 'proxy-pa55word-e2e';
const box = useSandbox();
let front: https.Server;
let proxy: http.Server;
let frontPort: number;
let proxyUrl: string;
let tunnels: string[] = [];
let refused = 0;
let dir: string;

function pipeBoth(a: net.Socket, b: net.Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

beforeAll(async () => {
  const upstreamPort = Number(new URL(box.sandbox.url).port);
  // The TLS front forwards each request to the sandbox, naming it as the sandbox expects
  // (it answers only requests for 127.0.0.1 or localhost).
  const upstreamAgent = new http.Agent({ keepAlive: true });
  front = https.createServer({ key: readFileSync(join(FIXTURES, 'key.pem')), cert: readFileSync(join(FIXTURES, 'cert.pem')) }, (req, res) => {
    const headers = { ...req.headers, host: `127.0.0.1:${upstreamPort}` };
    const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers, agent: upstreamAgent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  front.on('close', () => upstreamAgent.destroy());
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  frontPort = (front.address() as AddressInfo).port;

  const expectedAuth = `Basic ${Buffer.from(`clinic:${PROXY_PASSWORD}`).toString('base64')}`;
  proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    if (req.headers['proxy-authorization'] !== expectedAuth || req.url !== `canvas.test:${frontPort}`) {
      refused++;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    tunnels.push(req.url);
    // The proxy resolves canvas.test itself: to the TLS front on this machine.
    const upstream = net.connect(frontPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      pipeBoth(client, upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://clinic:${PROXY_PASSWORD}@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise<void>((r) => proxy.close(() => r()));
  await new Promise<void>((r) => front.close(() => r()));
});
beforeEach(() => {
  dir = tempDir('cl-proxy-');
  tunnels = [];
  refused = 0;
});

function send(baseUrl: string, env: NodeJS.ProcessEnv) {
  const args = ['send', join(ROOT, 'samples', 'jury-duty.csv'), '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'),
    '--ledger', join(dir, 'ledger.db'), '-o', join(dir, 'out'), '--yes', '-c', '4'];
  const proxyEnv = { HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', NO_PROXY: '', no_proxy: '', ...env };
  return runCliAsync(args, { cwd: dir, env: box.env({ CANVAS_BASE_URL: baseUrl, NODE_EXTRA_CA_CERTS: join(FIXTURES, 'cert.pem'), ...proxyEnv }) });
}

describe('send through an HTTPS_PROXY', () => {
  it('creates every letter once through CONNECT tunnels to a host only the proxy can reach, never showing the proxy password', async () => {
    const r = await send(`https://canvas.test:${frontPort}/`, { HTTPS_PROXY: proxyUrl, NO_PROXY: 'localhost,.example.org' });
    expect(r.stderr).toContain('20 sent');
    expect(r.code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(20);
    expect(new Set(box.sandbox.letters.map((l) => l.patientKey)).size).toBe(20);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(refused).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(PROXY_PASSWORD);
  });

  it('goes direct to a loopback base URL even with HTTPS_PROXY and HTTP_PROXY set', async () => {
    const r = await send(`https://127.0.0.1:${frontPort}/`, { https_proxy: proxyUrl, HTTP_PROXY: proxyUrl });
    expect(r.stderr).toContain('20 sent');
    expect(r.code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(20);
    expect(tunnels).toHaveLength(0);
    expect(refused).toBe(0);
  });
});
