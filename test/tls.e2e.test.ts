/**
 * End-to-end over TLS: the built CLI's `send` to an https Canvas (the sandbox behind a TLS
 * proxy on 127.0.0.1 with the self-signed certificate in test/fixtures/tls). Trusted through
 * NODE_EXTRA_CA_CERTS, every letter is created once over a few kept-alive connections; not
 * trusted, nothing is sent and the run exits 2 saying what to check.
 */
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCliAsync, tempDir } from './support/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'tls');
const box = useSandbox();
let server: tls.Server;
let httpsUrl: string;
let connections = 0;
let open = 0;
let mostOpen = 0;
let dir: string;

beforeAll(async () => {
  const upstreamPort = Number(new URL(box.sandbox.url).port);
  server = tls.createServer({ key: readFileSync(join(FIXTURES, 'key.pem')), cert: readFileSync(join(FIXTURES, 'cert.pem')) }, (socket) => {
    connections++;
    mostOpen = Math.max(mostOpen, ++open);
    socket.on('close', () => open--);
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  server.on('tlsClientError', () => undefined); // the untrusted run hangs up during the handshake
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  httpsUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  dir = tempDir('cl-tls-');
  connections = 0;
  mostOpen = 0;
});

function send(env: NodeJS.ProcessEnv) {
  const args = ['send', join(ROOT, 'samples', 'jury-duty.csv'), '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'),
    '--ledger', join(dir, 'ledger.db'), '-o', join(dir, 'out'), '--yes', '-c', '4'];
  return runCliAsync(args, { cwd: dir, env: box.env({ CANVAS_BASE_URL: httpsUrl, ...env }) });
}

describe('send over https', () => {
  it('creates every letter once through a trusted certificate, reusing its connections', async () => {
    const r = await send({ NODE_EXTRA_CA_CERTS: join(FIXTURES, 'cert.pem') });
    expect(r.stderr).toContain('20 sent');
    expect(r.code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(20);
    expect(new Set(box.sandbox.letters.map((l) => l.patientKey)).size).toBe(20);
    expect(connections).toBeGreaterThan(0);
    // Kept alive: far fewer connections than letters, and never more open at once than -c 4 letter
    // sockets and one for the token. (A socket idle for 4 s is closed and another opened later, so
    // a loaded machine may open a few more in all: the total is not a fixed number.)
    expect(connections).toBeLessThan(20);
    expect(mostOpen).toBeLessThanOrEqual(6);
  });

  it('sends nothing when the certificate is not trusted, and says what to check', async () => {
    const r = await send({});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TLS problem/);
    expect(r.stderr).toMatch(/certificates/);
    expect(box.sandbox.letters).toHaveLength(0);
    expect(box.sandbox.stats().tokenRequests).toBe(0);
  });
});
