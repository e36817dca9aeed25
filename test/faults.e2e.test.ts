/**
 * End-to-end: the built CLI's `send` under write failures and interrupts. A full disk under the
 * report (a small tmpfs, mounted as root; skipped with a message where mounting is impossible),
 * Ctrl-C during the first token's backoff, and Ctrl-C while a token renewal is in flight. Every
 * assertion counts requests in a server in this process, never timing windows.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCliAsync, startCli, tempDir, waitFor, type CliProcess } from './support/cli.js';
import { fullerNames, juryCsv } from './support/rows.js';

const box = useSandbox();
let dir: string;
beforeEach(() => {
  dir = tempDir('cl-faults-');
});

/** A CSV of n jury-duty rows with distinct patients. */
function writeCsv(n: number): string {
  const file = join(dir, 'batch.csv');
  writeFileSync(file, juryCsv(n, { pad: 'b', fields: (i) => ({ ...fullerNames(i + 1), dateOfBirth: `1970-01-0${(i % 9) + 1}` }) }));
  return file;
}

const sendArgs = (csv: string, out: string) => ['send', csv, '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db'), '-o', out, '--yes'];

function ledgerRows(): Array<{ letterKey: string; status: string; letterId: string | null }> {
  const db = new Database(join(dir, 'ledger.db'), { readonly: true });
  try {
    return db.prepare('SELECT letter_key AS letterKey, status, letter_id AS letterId FROM letters').all() as Array<{ letterKey: string; status: string; letterId: string | null }>;
  } finally {
    db.close();
  }
}

const STACK_TRACE = /^\s+at .+\(.*:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;

function expectNoCrash(stderr: string): void {
  expect(stderr).not.toMatch(STACK_TRACE);
  expect(stderr).not.toMatch(/unexpected error|UnhandledPromiseRejection|ERR_UNHANDLED_REJECTION/);
}

/** A small tmpfs for the report folder, as root; undefined (with the reason) where mounting is impossible. */
function mountSmallDisk(): { mnt?: string; why?: string } {
  if (process.getuid?.() !== 0) return { why: 'not root' };
  const mnt = join(tempDir('cl-tmpfs-'), 'disk');
  mkdirSync(mnt);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mnt], { encoding: 'utf8' });
  if (r.status !== 0) return { why: `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}` };
  return { mnt };
}

describe('send with a full disk under the report', () => {
  let disk: { mnt?: string; why?: string } = {};
  beforeAll(() => {
    disk = mountSmallDisk();
    if (!disk.mnt) console.warn(`skipping the full-disk test: ${disk.why} (it needs root and tmpfs)`);
  });
  afterAll(() => {
    if (disk.mnt) spawnSync('umount', [disk.mnt]);
  });

  it('stops starting letters, records every letter Canvas created as sent in the ledger, and exits 1 with a clear message', async (ctx) => {
    if (!disk.mnt) return ctx.skip();
    // Leave two 4 KiB pages free: the report's first lines fit, then the disk is full.
    writeFileSync(join(disk.mnt, 'filler'), Buffer.alloc(56 * 1024));
    box.sandbox.setFaults({ latencyMs: 20 });
    const csv = writeCsv(60);
    const r = await runCliAsync([...sendArgs(csv, join(disk.mnt, 'out')), '-c', '2'], { cwd: dir, env: box.env() });

    expectNoCrash(r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stopped: .*report\.csv: cannot write the report \(ENOSPC: no space left on device/);
    expect(r.stderr).toMatch(/\d+ rows are missing from .*report\.csv: every letter recorded as sent is in the ledger/);
    // Fewer than all were sent (the run stopped), and each one Canvas created is recorded sent.
    const created = box.sandbox.letters;
    expect(created.length).toBeGreaterThan(0);
    expect(created.length).toBeLessThan(60);
    const sent = ledgerRows().filter((row) => row.status === 'sent');
    expect(sent.map((row) => row.letterId).sort()).toEqual(created.map((l) => l.id).sort());
    expect(ledgerRows().filter((row) => row.status === 'pending')).toEqual([]);

    // Space again: the next run sends the rest, none twice, and reports nothing unknown.
    rmSync(join(disk.mnt, 'filler'));
    box.sandbox.setFaults({ latencyMs: 0 });
    const again = await runCliAsync(sendArgs(csv, join(dir, 'out2')), { cwd: dir, env: box.env() });
    expect(again.code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(60);
    expect(new Set(box.sandbox.letters.map((l) => l.patientKey)).size).toBe(60);
  });
});

/**
 * A stand-in Canvas whose token endpoint can fail or be held open: letters are created (201)
 * for any token, and counted with the token they carried.
 */
interface FakeCanvas {
  url: string;
  tokenRequests: number;
  letters: string[];
  /** How the n-th token request (1-based) is answered. */
  token: (n: number) => 'ok' | '503' | 'hold';
  /** Answer the held token requests. */
  release(): void;
}

const fakes: http.Server[] = [];
afterEach(async () => {
  for (const s of fakes.splice(0)) await new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
});

async function fakeCanvas(token: FakeCanvas['token'], expiresIn = 3600): Promise<FakeCanvas> {
  const held: Array<() => void> = [];
  const fake: FakeCanvas = { url: '', tokenRequests: 0, letters: [], token, release: () => held.splice(0).forEach((f) => f()) };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/auth/token/') {
        const n = ++fake.tokenRequests;
        const answer = () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: `token-${n}`, token_type: 'Bearer', expires_in: expiresIn }));
        };
        const how = fake.token(n);
        if (how === '503') return res.writeHead(503, { 'retry-after': '60' }).end();
        if (how === 'hold') return void held.push(answer);
        return answer();
      }
      fake.letters.push((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      setTimeout(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ letterKey: `letter-${fake.letters.length}` }));
      }, 30);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fakes.push(server);
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

const fakeEnv = (fake: FakeCanvas) => box.env({ CANVAS_BASE_URL: fake.url, CANVAS_LETTERS_RETRY_BASE_MS: '1' });

/** Resolves once the CLI says on stderr that it took the interrupt. */
function interruptTaken(run: CliProcess): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    run.child.stderr!.on('data', (d: string) => {
      seen += d;
      if (seen.includes('interrupted: finishing')) resolve();
    });
  });
}

describe('send interrupted while it waits for a token', () => {
  it('Ctrl-C during the first token backoff makes no further token request and exits 130', async () => {
    const fake = await fakeCanvas(() => '503');
    const run = startCli(sendArgs(writeCsv(5), join(dir, 'out')), { cwd: dir, env: fakeEnv(fake) });
    const taken = interruptTaken(run);
    await waitFor(() => fake.tokenRequests === 1);
    run.child.kill('SIGINT');
    await taken;
    const r = await run.done;
    expectNoCrash(r.stderr);
    expect(r.code).toBe(130);
    expect(r.stderr).not.toContain('no access token');
    expect(fake.tokenRequests).toBe(1);
    expect(fake.letters).toEqual([]);
  });

  it('Ctrl-C while a token renewal is in flight lets no letter request leave afterwards', async () => {
    // The first token expires in 1 s: a letter then renews it, and that renewal is held open.
    const fake = await fakeCanvas((n) => (n === 1 ? 'ok' : 'hold'), 1);
    const run = startCli([...sendArgs(writeCsv(200), join(dir, 'out')), '-c', '2'], { cwd: dir, env: fakeEnv(fake) });
    const taken = interruptTaken(run);
    await waitFor(() => fake.tokenRequests === 2);
    run.child.kill('SIGINT');
    await taken;
    fake.release(); // the renewed token (token-2) arrives after the interrupt
    const r = await run.done;
    expectNoCrash(r.stderr);
    expect(r.code).toBe(130);
    expect(fake.letters.length).toBeGreaterThan(0);
    // A letter carrying token-2 could only have started after the interrupt.
    expect(fake.letters.filter((t) => t === 'token-2')).toEqual([]);
    expect(fake.tokenRequests).toBe(2);
  });
});
