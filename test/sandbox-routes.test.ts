/**
 * The sandbox's route table: path patterns, 405 for a known path asked with another method (Allow
 * naming the methods the table lists for it), 404 for any other path; and the CLI's start-up order.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../src/sandbox/router.js';
import { startCli, waitFor } from './support/cli.js';
import { trackedSandboxes } from './support/sandbox.js';

const sandbox = trackedSandboxes();

/** One request by raw node:http (any method), with the answer's status, Allow and body. */
function ask(port: number, method: string, path: string): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: { 'Content-Length': '0' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function outcomeText(body: string): string {
  return (JSON.parse(body) as { issue: { details: { text: string } }[] }).issue[0]!.details.text;
}

describe('compilePattern', () => {
  it('matches literal text, {name} segments, {name:A|B} words and an optional trailing slash', () => {
    const fhir = compilePattern('/{type:Patient|Location}/{id}/?');
    expect(fhir.names).toEqual(['type', 'id']);
    expect(fhir.regex.exec('/Patient/a%2Fb')?.slice(1)).toEqual(['Patient', 'a%2Fb']);
    expect(fhir.regex.test('/Location/x/')).toBe(true);
    expect(fhir.regex.test('/Encounter/x')).toBe(false);
    expect(fhir.regex.test('/Patient/')).toBe(false);
    expect(fhir.regex.test('/Patient/x/y')).toBe(false);
    const page = compilePattern('/index.html');
    expect(page.regex.test('/index.html')).toBe(true);
    expect(page.regex.test('/indexxhtml')).toBe(false);
    expect(compilePattern('/').regex.test('/')).toBe(true);
  });
});

describe('the route table', () => {
  it('answers 405 with the methods listed for a known path (HEAD is listed for the inbox reads only)', async () => {
    const sb = await sandbox({ directory: false });
    const cases: [string, string, string][] = [
      ['POST', '/', 'GET'],
      ['PUT', '/index.html', 'GET'],
      ['POST', '/sandbox/letters', 'GET, DELETE'],
      ['POST', '/sandbox/letters/abc', 'GET'],
      ['DELETE', '/sandbox/letters/abc/html', 'GET'],
      ['HEAD', '/sandbox/stats', 'GET'],
      ['DELETE', '/sandbox/faults', 'GET, PUT'],
      ['GET', '/sandbox/script', 'POST'],
      ['GET', '/sandbox/fhir-script', 'POST'],
      ['GET', '/sandbox/revoke-tokens', 'POST'],
      ['PATCH', '/sandbox/reset', 'POST'],
      ['POST', '/Patient/abc', 'GET'],
      ['HEAD', '/Location/abc/', 'GET'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await ask(sb.port, method, path);
      expect([method, path, r.status, r.allow]).toEqual([method, path, 405, allow]);
      if (method !== 'HEAD') expect(outcomeText(r.body)).toBe(`Method not allowed; use ${allow}.`);
    }
    expect((await ask(sb.port, 'HEAD', '/')).status).toBe(200);
    expect((await ask(sb.port, 'HEAD', '/sandbox/letters')).status).toBe(200);
  });

  it('keeps the Canvas endpoints own 405 answers, and counts a token request of any method', async () => {
    const sb = await sandbox({ directory: false });
    const token = await ask(sb.port, 'GET', '/auth/token');
    expect([token.status, token.allow, JSON.parse(token.body)]).toEqual([405, 'POST', { error: 'invalid_request', error_description: 'use POST' }]);
    expect(sb.stats().tokenRequests).toBe(1);
    const letter = await ask(sb.port, 'PUT', '/core/api/letter/v1/Letter/');
    expect([letter.status, letter.allow, outcomeText(letter.body)]).toEqual([405, 'POST', 'Method not allowed.']);
    expect(sb.stats().letterRequests).toBe(0);
  });

  it('answers 404 naming the method and path for every other path', async () => {
    const sb = await sandbox({ directory: false });
    for (const [method, path] of [['GET', '/sandbox/'], ['POST', '/sandbox/letters/'], ['GET', '/Encounter/x'], ['DELETE', '/auth/token//'], ['GET', '/INDEX.HTML']]) {
      const r = await ask(sb.port, method!, path!);
      expect([r.status, outcomeText(r.body)]).toEqual([404, `No such endpoint: ${method} ${path}`]);
    }
  });
});

describe('canvas-letters sandbox start-up', () => {
  it('listens for SIGINT and SIGTERM before it prints its first ready line', async () => {
    // Preloaded into the CLI: at the first ready line, note how many SIGINT and SIGTERM listeners there are.
    const probe = `const w = process.stderr.write.bind(process.stderr); let seen = false;
process.stderr.write = (chunk, ...rest) => {
  if (!seen && String(chunk).includes('Canvas sandbox listening on')) {
    seen = true;
    w('signal listeners: SIGINT=' + process.listenerCount('SIGINT') + ' SIGTERM=' + process.listenerCount('SIGTERM') + '\\n');
  }
  return w(chunk, ...rest);
};`;
    const cli = startCli(['sandbox', '--port', '0', '--no-directory'], {
      env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(probe)}` },
    });
    let err = '';
    cli.child.stderr!.on('data', (d: string) => (err += d));
    await waitFor(() => err.includes('Canvas sandbox listening on'), 15_000);
    cli.child.kill('SIGINT');
    const { code, stderr } = await cli.done;
    expect(stderr).toContain('signal listeners: SIGINT=1 SIGTERM=1\n');
    expect(code).toBe(0);
  });
});
