/**
 * End-to-end: the built CLI's `send` against the sandbox (in this process, port 0), one test
 * per promise: every letter once, every row accounted for, retries by the contract's rules,
 * and no secret anywhere.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCli, runCliAsync, startCli, tempDir, waitFor } from './support/cli.js';
import { fullerNames, juryCsv } from './support/rows.js';

const box = useSandbox();
let dir: string;
beforeEach(() => {
  dir = tempDir('cl-send-');
});

const env = (extra: NodeJS.ProcessEnv = {}) => box.env(extra);

/** A CSV of n jury-duty rows with distinct patients; `extraColumn` adds a column no template uses. */
function writeCsv(name: string, n: number, extraColumn = false): string {
  const fields = (i: number) => ({ ...fullerNames(i + 1), dateOfBirth: `1970-01-0${(i % 9) + 1}`, ...(extraColumn && { unused: `x${i}` }) });
  const file = join(dir, name);
  writeFileSync(file, juryCsv(n, { pad: 'a', fields }));
  return file;
}

function send(csv: string, extra: string[] = [], envExtra: NodeJS.ProcessEnv = {}, out = 'out') {
  return runCliAsync(['send', csv, '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db'), '-o', join(dir, out), '--yes', ...extra], { cwd: dir, env: env(envExtra) });
}

function report(out = 'out'): Array<Record<string, string>> {
  const json = JSON.parse(readFileSync(join(dir, out, 'report.json'), 'utf8'));
  return json.rows;
}

const statuses = (out = 'out') => report(out).map((r) => r.status);

describe('send', () => {
  it('creates every letter once with its keys and inlined content, and reports each row sent', async () => {
    const r = await send(join(ROOT, 'samples', 'jury-duty.csv'));
    expect(r.stderr).toContain('20 sent');
    expect(r.code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(20);
    expect(new Set(box.sandbox.letters.map((l) => l.patientKey)).size).toBe(20);
    expect(box.sandbox.letters[0]!.content).toMatch(/style="/);
    const rows = report();
    expect(rows.every((row) => row.status === 'sent' && Number(row.httpStatus) === 201 && row.letterId)).toBe(true);
  });

  it('skips letters the ledger says were sent, even from another file, without needing credentials', async () => {
    const first = writeCsv('a.csv', 5);
    expect((await send(first)).code).toBe(0);
    const tokens = box.sandbox.stats().tokenRequests;
    // Same rows, another file with an extra column the template does not use.
    const second = writeCsv('b.csv', 5, true);
    // No configuration at all: nothing is to be sent, so none is needed.
    const r = await send(second, [], { CANVAS_BASE_URL: '', CANVAS_CLIENT_ID: '', CANVAS_CLIENT_SECRET: '' }, 'out2');
    expect(r.code).toBe(0);
    expect(statuses('out2')).toEqual(Array(5).fill('skipped'));
    expect(report('out2')[0]!.error).toMatch(/already sent/);
    expect(box.sandbox.letters).toHaveLength(5);
    expect(box.sandbox.stats().tokenRequests).toBe(tokens);
  });

  it('retries 429 and 503 and sends the letter once', async () => {
    box.sandbox.script('429', '503', 'ok');
    const r = await send(writeCsv('a.csv', 1));
    expect(r.code).toBe(0);
    expect(report()[0]).toMatchObject({ status: 'sent', attempts: 3 });
    expect(box.sandbox.letters).toHaveLength(1);
  });

  it('gives up after 5 attempts when Canvas stays busy, and a later run tries again', async () => {
    box.sandbox.script('503', '503', '503', '503', '503');
    const r = await send(writeCsv('a.csv', 1));
    expect(r.code).toBe(1);
    expect(report()[0]).toMatchObject({ status: 'failed', attempts: 5 });
    const again = await send(join(dir, 'a.csv'), [], {}, 'out2');
    expect(again.code).toBe(0);
    expect(statuses('out2')).toEqual(['sent']);
  });

  it('retries when the connection is refused (nothing was sent) and reports failed', async () => {
    const r = await send(writeCsv('a.csv', 1), [], { CANVAS_BASE_URL: 'http://127.0.0.1:1', CANVAS_ACCESS_TOKEN: 'static-token', CANVAS_CLIENT_ID: '', CANVAS_CLIENT_SECRET: '' });
    expect(r.code).toBe(1);
    expect(report()[0]).toMatchObject({ status: 'failed', attempts: 5 });
  });

  it('reports 500, 502 and 504 as unknown and never sends them again', async () => {
    box.sandbox.script('500', '502', '504');
    const r = await send(writeCsv('a.csv', 3), ['-c', '1']);
    expect(r.code).toBe(1);
    expect(report().map((row) => [row.status, Number(row.httpStatus), row.attempts])).toEqual([
      ['unknown', 500, 1],
      ['unknown', 502, 1],
      ['unknown', 504, 1],
    ]);
    const before = box.sandbox.stats().letterRequests;
    const again = await send(join(dir, 'a.csv'), [], {}, 'out2');
    expect(again.code).toBe(1);
    expect(statuses('out2')).toEqual(['unknown', 'unknown', 'unknown']);
    expect(box.sandbox.stats().letterRequests).toBe(before);
  });

  it('sends unknown rows again only with --resend-unknown', async () => {
    box.sandbox.script('500');
    await send(writeCsv('a.csv', 1));
    const r = await send(join(dir, 'a.csv'), ['--resend-unknown'], {}, 'out2');
    expect(r.code).toBe(0);
    expect(statuses('out2')).toEqual(['sent']);
  });

  it('reports a reset connection as unknown (the letter may exist) and never resends it', async () => {
    box.sandbox.script('reset');
    const r = await send(writeCsv('a.csv', 1));
    expect(r.code).toBe(1);
    expect(report()[0]).toMatchObject({ status: 'unknown', attempts: 1 });
    expect(box.sandbox.letters).toHaveLength(1);
    await send(join(dir, 'a.csv'), [], {}, 'out2');
    expect(box.sandbox.letters).toHaveLength(1);
  });

  it('reports a request that times out after it was written as unknown', async () => {
    box.sandbox.script('hang');
    const r = await send(writeCsv('a.csv', 1), ['--timeout', '0.5']);
    expect(r.code).toBe(1);
    expect(report()[0]).toMatchObject({ status: 'unknown', attempts: 1 });
  });

  it('fails a row Canvas refuses with 422, shows its OperationOutcome text, and goes on', async () => {
    box.sandbox.script('422', 'ok');
    const r = await send(writeCsv('a.csv', 2), ['-c', '1']);
    expect(r.code).toBe(1);
    const rows = report();
    expect(rows[0]).toMatchObject({ status: 'failed', httpStatus: 422 });
    expect(rows[0]!.error).toMatch(/not found/);
    expect(rows[1]!.status).toBe('sent');
  });

  it('stops the run on 403: the rest are not attempted', async () => {
    box.sandbox.script('ok', '403');
    const r = await send(writeCsv('a.csv', 6), ['-c', '1']);
    expect(r.code).toBe(1);
    expect(statuses()).toEqual(['sent', 'failed', 'not_attempted', 'not_attempted', 'not_attempted', 'not_attempted']);
    expect(box.sandbox.letters).toHaveLength(1);
  });

  it('renews the token once on a 401 and sends', async () => {
    box.sandbox.script('401', 'ok');
    const r = await send(writeCsv('a.csv', 1));
    expect(r.code).toBe(0);
    expect(report()[0]).toMatchObject({ status: 'sent', attempts: 2 });
    expect(box.sandbox.stats().tokenRequests).toBe(2);
  });

  it('stops on a second 401 after renewal', async () => {
    box.sandbox.script('ok', '401', '401');
    const r = await send(writeCsv('a.csv', 3), ['-c', '1']);
    expect(r.code).toBe(1);
    expect(statuses()).toEqual(['sent', 'not_attempted', 'not_attempted']);
  });

  it('renews an expiring token during the run, sharing one renewal', async () => {
    box.sandbox.setFaults({ tokenLifetimeSeconds: 1, latencyMs: 100 });
    const r = await send(writeCsv('a.csv', 24), ['-c', '2']);
    expect(r.code).toBe(0);
    expect(box.sandbox.stats().tokensIssued).toBeGreaterThanOrEqual(2);
    expect(box.sandbox.stats().outcomes['401']).toBe(0);
    expect(box.sandbox.letters).toHaveLength(24);
  });

  it('exits 2 before any letter when the credentials are refused', async () => {
    const r = await send(writeCsv('a.csv', 3), [], { CANVAS_CLIENT_SECRET: 'wrong' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no access token: Canvas refused the client credentials \(HTTP \d+/);
    expect(box.sandbox.stats().letterRequests).toBe(0);
    expect(statuses()).toEqual(Array(3).fill('not_attempted'));
  });

  it('never has more requests in flight than --concurrency', async () => {
    box.sandbox.setFaults({ latencyMs: 40 });
    const r = await send(writeCsv('a.csv', 30), ['-c', '3']);
    expect(r.code).toBe(0);
    expect(box.sandbox.stats().maxInFlight).toBe(3);
  });

  it('starts at most --rate requests per second', async () => {
    const r = await send(writeCsv('a.csv', 12), ['-c', '8', '--rate', '10']);
    expect(r.code).toBe(0);
    const starts = box.sandbox.stats().startTimes;
    expect(starts).toHaveLength(12);
    // Any 11 consecutive starts span at least one second (server clock, small scheduling slack).
    for (let i = 0; i + 10 < starts.length; i++) expect(starts[i + 10]! - starts[i]!).toBeGreaterThanOrEqual(980);
  });

  it('stops after 10 letters in a row end unknown (circuit breaker)', async () => {
    box.sandbox.setFaults({ rates: { '500': 1 } });
    const r = await send(writeCsv('a.csv', 15), ['-c', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/circuit breaker/);
    const s = statuses();
    expect(s.filter((x) => x === 'unknown')).toHaveLength(10);
    expect(s.filter((x) => x === 'not_attempted')).toHaveLength(5);
  });

  it('on Ctrl-C finishes the requests in flight, records them, and exits 130', async () => {
    box.sandbox.setFaults({ latencyMs: 200 });
    const run = startCli(['send', writeCsv('a.csv', 20), '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db'), '-o', join(dir, 'out'), '--yes', '-c', '2'], { cwd: dir, env: env() });
    await waitFor(() => box.sandbox.letters.length >= 2);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    const rows = report();
    expect(rows).toHaveLength(20);
    const sent = rows.filter((row) => row.status === 'sent').length;
    expect(sent).toBe(box.sandbox.letters.length);
    expect(rows.filter((row) => row.status === 'not_attempted')).toHaveLength(20 - sent);
    // The next run sends the rest, and nothing twice.
    box.sandbox.setFaults({ latencyMs: 0 });
    expect((await send(join(dir, 'a.csv'), [], {}, 'out2')).code).toBe(0);
    expect(new Set(box.sandbox.letters.map((l) => l.patientKey)).size).toBe(20);
    expect(box.sandbox.letters).toHaveLength(20);
  });

  it('after SIGKILL mid-batch, a new run never sends a letter twice and reports in-flight rows unknown', async () => {
    box.sandbox.setFaults({ latencyMs: 300 });
    const run = startCli(['send', writeCsv('a.csv', 16), '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db'), '-o', join(dir, 'out'), '--yes', '-c', '4'], { cwd: dir, env: env() });
    await waitFor(() => box.sandbox.letters.length >= 4 && box.sandbox.stats().inFlight > 0);
    run.child.kill('SIGKILL');
    await run.done;
    // The report written so far survives the crash.
    expect(readFileSync(join(dir, 'out', 'report.csv'), 'utf8')).toMatch(/^row,status,/);
    // Requests that reached the server before the kill still create their letter (worst case).
    await waitFor(() => box.sandbox.letters.length === box.sandbox.stats().letterRequests);
    const landed = new Set(box.sandbox.letters.map((l) => l.patientKey));
    box.sandbox.setFaults({ latencyMs: 0 });
    const r = await send(join(dir, 'a.csv'), [], {}, 'out2');
    expect(r.code).toBe(1); // the in-flight rows are unknown
    const rows = report('out2');
    expect(rows).toHaveLength(16);
    expect(rows.filter((row) => row.status === 'unknown').length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(landed.has(row.patientKey!) ? ['skipped', 'unknown'] : ['sent', 'unknown']).toContain(row.status);
    }
    const keys = box.sandbox.letters.map((l) => l.patientKey);
    expect(new Set(keys).size).toBe(keys.length); // no patient got a letter twice
  });

  it('needs --yes without a terminal and refuses http:// to a remote host', async () => {
    const csv = writeCsv('a.csv', 1);
    const noYes = runCli(['send', csv, '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates')], { cwd: dir, env: env() });
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toMatch(/--yes/);
    const remote = await send(csv, [], { CANVAS_BASE_URL: 'http://canvas.example.com' });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/CANVAS_BASE_URL/);
    expect(box.sandbox.stats().letterRequests).toBe(0);
  });

  it('refuses an unreadable ledger with exit 2 before sending anything', async () => {
    writeFileSync(join(dir, 'ledger.db'), 'this is not a database, just text long enough to not be empty'.repeat(20));
    const r = await send(writeCsv('a.csv', 2));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ledger\.db.*not a readable canvas-letters ledger/);
    expect(box.sandbox.stats().letterRequests).toBe(0);
  });

  it('keeps secrets and tokens out of every output and file', async () => {
    const res = await fetch(`${box.sandbox.url}/auth/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret',
    });
    const { access_token: token } = (await res.json()) as { access_token: string };
    box.sandbox.script('ok', '422', '500', '401', 'ok');
    const withToken = await send(writeCsv('a.csv', 5), ['-c', '1', '--json'], { CANVAS_ACCESS_TOKEN: token, CANVAS_CLIENT_ID: '', CANVAS_CLIENT_SECRET: '' });
    const badSecret = 'S3cr3t-Value-That-Must-Not-Leak';
    const withSecret = await send(writeCsv('b.csv', 2), [], { CANVAS_CLIENT_SECRET: badSecret }, 'out2');
    const texts = [withToken.stdout, withToken.stderr, withSecret.stdout, withSecret.stderr];
    for (const out of ['out', 'out2']) {
      for (const f of readdirSync(join(dir, out), { recursive: true }) as string[]) {
        if (f.includes('.')) texts.push(readFileSync(join(dir, out, f), 'latin1'));
      }
    }
    for (const f of readdirSync(dir)) if (f.startsWith('ledger.db')) texts.push(readFileSync(join(dir, f), 'latin1'));
    for (const t of texts) {
      expect(t).not.toContain(token);
      expect(t).not.toContain(badSecret);
      expect(t).not.toContain('Patient Number');
    }
  });
});

describe('sandbox command', () => {
  it('prints the environment lines that point send at it', async () => {
    const run = startCli(['sandbox', '--port', '0']);
    let out = '';
    run.child.stdout!.on('data', (d: string) => (out += d));
    await waitFor(() => out.includes('CANVAS_CLIENT_SECRET='));
    const url = /CANVAS_BASE_URL=(\S+)/.exec(out)![1]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const stats = (await (await fetch(`${url}/sandbox/stats`)).json()) as { letterRequests: number };
    expect(stats.letterRequests).toBe(0);
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(0);
  });
});
