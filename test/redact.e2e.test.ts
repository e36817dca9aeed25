/**
 * End to end: a Canvas that echoes every secret of the run (the client secret, the first and
 * the renewed token, the proxy password; as is, URL-encoded and base64, in the body and in the
 * reason phrase) past the shortening limit. `send` writes none of them to report.csv,
 * report.json, stdout, stderr or the ledger. (The sandbox's answers cannot be scripted to
 * carry the token, so this is a local fake Canvas on port 0.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliAsync, tempDir, writeTree } from './support/cli.js';

const CLIENT_ID = 'e2e-client-id';
const CLIENT_SECRET = 'e2e/Secret+Vxqz=42%x'; // no 4-letter run of it is a word in the ledger's schema
const PROXY_PASSWORD = 'proxy-Pass-9187';
const tokenOf = (n: number) => `e2eTokenNumber${n}xYz`;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A fake Canvas: tokens e2eTokenNumber1…, a 401 on the first letter (so the token is renewed), then 422s echoing every secret, past the shortening limit or not. */
async function leakyCanvas(): Promise<{ url: string; letters: () => number; tokens: () => number }> {
  let issued = 0;
  let letters = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/auth/token/')) {
        issued++;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ access_token: tokenOf(issued), token_type: 'Bearer', expires_in: 3600 }));
      }
      letters++;
      if (letters === 1) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ detail: 'expired' }));
      }
      const tokens = Array.from({ length: issued }, (_, i) => tokenOf(i + 1));
      const text = [
        'x'.repeat(letters % 2 === 0 ? 280 : 1), // 280: the first token straddles the shortening limit
        ...tokens,
        CLIENT_SECRET,
        encodeURIComponent(CLIENT_SECRET),
        Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'),
        PROXY_PASSWORD,
      ].join(' ');
      res.writeHead(422, `Rejected ${tokenOf(issued)} ${CLIENT_SECRET}`, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', details: { text } }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, letters: () => letters, tokens: () => issued };
}

function runs(text: string, n = 4): string[] {
  return Array.from({ length: Math.max(0, text.length - n + 1) }, (_, i) => text.slice(i, i + n));
}

describe('send with a Canvas that echoes secrets', () => {
  it('writes no secret of the run to the reports, the terminal or the ledger', async () => {
    const canvas = await leakyCanvas();
    const dir = tempDir('cl-redact-');
    writeTree(dir, {
      'in.csv': 'patientKey,providerKey,practiceLocationKey,name\n' +
        'aaaa1111bbbb2222cccc3333dddd4444,pr0v1d3r,l0c4t10n,Ann Lee\n' +
        'eeee5555ffff6666aaaa7777bbbb8888,pr0v1d3r,l0c4t10n,Bo Chen\n',
      'tpl/note.hbs': '<p>Dear {{name}}</p>',
    });
    const ledger = join(dir, 'ledger.db');
    const r = await runCliAsync(['send', 'in.csv', '-t', 'note', '--templates-dir', 'tpl', '--ledger', ledger, '-o', 'out', '--yes', '-c', '1'], {
      cwd: dir,
      env: {
        CANVAS_BASE_URL: canvas.url,
        CANVAS_CLIENT_ID: CLIENT_ID,
        CANVAS_CLIENT_SECRET: CLIENT_SECRET,
        CANVAS_ACCESS_TOKEN: '',
        CANVAS_LETTERS_RETRY_BASE_MS: '1',
        HTTPS_PROXY: `http://proxyuser:${PROXY_PASSWORD}@127.0.0.1:9`,
        NO_PROXY: '127.0.0.1,localhost',
      },
    });
    expect(canvas.tokens()).toBeGreaterThanOrEqual(2); // the first token and the renewed one
    expect(canvas.letters()).toBeGreaterThanOrEqual(3);
    const reportCsv = readFileSync(join(dir, 'out', 'report.csv'), 'utf8');
    const reportJson = readFileSync(join(dir, 'out', 'report.json'), 'utf8');
    expect(reportCsv).toContain('failed');
    expect(reportCsv).toContain('[redacted]');
    const ledgerBytes = ['', '-wal', '-journal'].map((s) => ledger + s).filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('\n');
    const places = { 'report.csv': reportCsv, 'report.json': reportJson, stdout: r.stdout, stderr: r.stderr, ledger: ledgerBytes };
    const secrets = [
      CLIENT_SECRET,
      encodeURIComponent(CLIENT_SECRET),
      Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'),
      PROXY_PASSWORD,
      ...Array.from({ length: canvas.tokens() }, (_, i) => tokenOf(i + 1)),
    ];
    for (const [place, text] of Object.entries(places)) {
      for (const secret of secrets) {
        const left = runs(secret).filter((run) => text.includes(run));
        expect(left, `${place} holds part of ${secret}`).toEqual([]);
      }
    }
  });
});
