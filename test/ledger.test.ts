/**
 * The send ledger: each test one promise the ledger makes so that no letter is created twice.
 * The multi-process test runs test/support/ledger-worker.mjs in two child processes on the
 * current src/ledger.ts, transpiled (types stripped) into a temporary folder.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Ledger, LedgerBusyError, type ClaimRequest } from '../src/ledger/ledger.js';
import { ROOT, tempDir } from './support/cli.js';

const require = createRequire(import.meta.url);
const KEYS = { patientKey: 'pat-1', providerKey: 'prov-1', practiceLocationKey: 'loc-1' };

function req(letterKey: string, row = 1): ClaimRequest {
  return { letterKey, keys: KEYS, template: 'visit', sourceFile: 'in.csv', row };
}

function ledgerFile(): string {
  return join(tempDir('ledger-'), 'ledger.db');
}

/** Leave `key` in `status`, as a finished earlier run would have. */
async function seed(file: string, key: string, status: 'sent' | 'failed' | 'unknown' | 'pending'): Promise<void> {
  const l = Ledger.open(file);
  await l.claim(req(key));
  if (status !== 'pending') await l.finish(key, { status, httpStatus: status === 'sent' ? 201 : 500, attempts: 2 });
  l.close();
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('claiming', () => {
  it('claims an absent key and records it pending with who claimed it', async () => {
    const l = Ledger.open(ledgerFile(), { runId: 'run-a' });
    expect(await l.claim(req('k1', 7))).toEqual({ claimed: true });
    const rec = l.get('k1')!;
    expect(rec).toMatchObject({ letterKey: 'k1', status: 'pending', ...KEYS, template: 'visit', sourceFile: 'in.csv', row: 7 });
    expect(rec).toMatchObject({ attempts: 0, runId: 'run-a', pid: process.pid });
    expect(rec.httpStatus).toBeUndefined();
    expect(new Date(rec.createdAt).toISOString()).toBe(rec.createdAt);
    l.close();
  });

  it('does not claim a sent key, even with resendUnknown', async () => {
    const file = ledgerFile();
    await seed(file, 'k1', 'sent');
    const l = Ledger.open(file);
    for (const resendUnknown of [false, true]) {
      const r = await l.claim(req('k1'), { resendUnknown });
      expect(r).toMatchObject({ claimed: false, existing: { status: 'sent', httpStatus: 201, attempts: 2 } });
    }
    l.close();
  });

  it('claims a failed key again, for the new run', async () => {
    const file = ledgerFile();
    await seed(file, 'k1', 'failed');
    const l = Ledger.open(file, { runId: 'run-b' });
    expect(await l.claim(req('k1', 3))).toEqual({ claimed: true });
    expect(l.get('k1')).toMatchObject({ status: 'pending', runId: 'run-b', row: 3, attempts: 0 });
    l.close();
  });

  it.each(['unknown', 'pending'] as const)('claims a key left %s only with resendUnknown', async (status) => {
    const file = ledgerFile();
    await seed(file, 'k1', status);
    const l = Ledger.open(file);
    expect(await l.claim(req('k1'))).toMatchObject({ claimed: false, existing: { status } });
    expect(l.get('k1')!.status).toBe(status);
    expect(await l.claim(req('k1'), { resendUnknown: true })).toEqual({ claimed: true });
    expect(l.get('k1')).toMatchObject({ status: 'pending', runId: l.runId });
    l.close();
  });

  it('never claims a pending key still in flight, even with resendUnknown', async () => {
    const file = ledgerFile();
    const a = Ledger.open(file);
    const b = Ledger.open(file);
    await a.claim(req('mine'));
    expect(await a.claim(req('mine'), { resendUnknown: true })).toMatchObject({ claimed: false });
    expect(await b.claim(req('mine'), { resendUnknown: true })).toMatchObject({ claimed: false });
    // Pending for a live process (our parent) vs. a process that has exited.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const raw = new Database(file);
    const stmt = raw.prepare("UPDATE letters SET pid = ?, run_id = 'elsewhere' WHERE letter_key = 'mine'");
    stmt.run(process.ppid);
    expect(await b.claim(req('mine'), { resendUnknown: true })).toMatchObject({ claimed: false });
    stmt.run(dead);
    expect(await b.claim(req('mine'), { resendUnknown: true })).toEqual({ claimed: true });
    raw.close();
    a.close();
    b.close();
  });

  it('claims the same key only once when asked twice in one turn', async () => {
    const l = Ledger.open(ledgerFile());
    const [first, second] = await Promise.all([l.claim(req('k1')), l.claim(req('k1'), { resendUnknown: true })]);
    expect(first).toEqual({ claimed: true });
    expect(second).toMatchObject({ claimed: false, existing: { status: 'pending' } });
    l.close();
  });
});

describe('outcomes', () => {
  it('finish records status, HTTP status, letter id and attempts', async () => {
    const l = Ledger.open(ledgerFile());
    await Promise.all([l.claim(req('a')), l.claim(req('b')), l.claim(req('c'))]);
    await Promise.all([
      l.finish('a', { status: 'sent', httpStatus: 201, letterId: 'L-1', attempts: 1 }),
      l.finish('b', { status: 'failed', httpStatus: 422, attempts: 1 }),
      l.finish('c', { status: 'unknown', attempts: 3 }),
    ]);
    expect(l.get('a')).toMatchObject({ status: 'sent', httpStatus: 201, letterId: 'L-1', attempts: 1 });
    expect(l.get('b')).toMatchObject({ status: 'failed', httpStatus: 422, attempts: 1 });
    expect(l.get('b')!.letterId).toBeUndefined();
    expect(l.get('c')).toMatchObject({ status: 'unknown', attempts: 3 });
    expect(l.get('c')!.httpStatus).toBeUndefined();
    l.close();
  });

  it('release turns a claimed key failed with attempts unchanged, so a later run tries it again', async () => {
    const file = ledgerFile();
    const l = Ledger.open(file);
    await l.claim(req('k1'));
    await l.release('k1');
    expect(l.get('k1')).toMatchObject({ status: 'failed', attempts: 0 });
    l.close();
    const later = Ledger.open(file);
    expect(await later.claim(req('k1'))).toEqual({ claimed: true });
    later.close();
  });

  it('finish and release only touch keys this run holds pending; the rest of the batch still commits', async () => {
    const file = ledgerFile();
    await seed(file, 'theirs', 'pending');
    const l = Ledger.open(file);
    await l.claim(req('mine'));
    const results = await Promise.allSettled([
      l.finish('theirs', { status: 'sent', attempts: 1 }),
      l.release('theirs'),
      l.finish('absent', { status: 'sent', attempts: 1 }),
      l.finish('mine', { status: 'sent', attempts: 1 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toContain('not pending for run');
    expect(l.get('theirs')!.status).toBe('pending');
    expect(l.get('mine')!.status).toBe('sent');
    await expect(l.finish('mine', { status: 'sent', attempts: 1 })).rejects.toThrow(); // already sent
    l.close();
  });

  it('rejects an invalid claim or outcome alone, without failing the requests committed with it', async () => {
    const l = Ledger.open(ledgerFile());
    const results = await Promise.allSettled([
      l.claim({ ...req('bad'), row: 1.5 }),
      l.claim(req('good')),
      l.finish('good', { status: 'done' as 'sent', attempts: 1 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect(l.get('good')!.status).toBe('pending');
    expect(l.get('bad')).toBeUndefined();
    l.close();
  });

  it('records survive close and reopen', async () => {
    const file = ledgerFile();
    const l = Ledger.open(file);
    await l.claim(req('k1', 4));
    await l.finish('k1', { status: 'sent', httpStatus: 201, letterId: 'L-9', attempts: 2 });
    const before = l.get('k1');
    l.close();
    const again = Ledger.open(file);
    expect(again.get('k1')).toEqual(before);
    expect(before).toMatchObject({ status: 'sent', letterId: 'L-9', row: 4 });
    again.close();
  });
});

describe('group commit', () => {
  it('commits many claims made in one turn in one transaction, and resolves them only after it', async () => {
    const file = ledgerFile();
    const l = Ledger.open(file);
    const other = new Database(file, { readonly: true });
    const count = () => other.prepare('SELECT count(*) FROM letters').pluck().get();
    const start = l.commitCount;
    let settled = 0;
    const claims = Array.from({ length: 500 }, (_, i) => l.claim(req(`k${i}`, i)).then((r) => (settled++, r)));
    await Promise.resolve();
    expect(settled).toBe(0);
    expect(count()).toBe(0); // nothing committed or resolved within the turn
    const results = await Promise.all(claims);
    expect(results.every((r) => r.claimed)).toBe(true);
    expect(l.commitCount - start).toBe(1);
    expect(count()).toBe(500);
    await Promise.all(results.map((_, i) => l.finish(`k${i}`, { status: 'sent', attempts: 1 })));
    expect(l.commitCount - start).toBe(2);
    other.close();
    l.close();
  });

  it('flush commits the queue synchronously, and close flushes', async () => {
    const file = ledgerFile();
    const l = Ledger.open(file);
    const p = l.claim(req('k1'));
    l.flush();
    expect(l.get('k1')!.status).toBe('pending');
    await p;
    const q = l.finish('k1', { status: 'sent', attempts: 1 });
    l.close();
    await q;
    const again = Ledger.open(file);
    expect(again.get('k1')!.status).toBe('sent');
    again.close();
  });

  it('rejects the whole batch with LedgerBusyError when another process keeps the ledger locked', async () => {
    const file = ledgerFile();
    const l = Ledger.open(file, { busyTimeoutMs: 100 });
    const locker = new Database(file);
    locker.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([l.claim(req('a')), l.claim(req('b'))]);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LedgerBusyError);
    locker.exec('ROLLBACK');
    locker.close();
    expect(l.get('a')).toBeUndefined();
    expect(await l.claim(req('a'))).toEqual({ claimed: true });
    l.close();
  });
});

describe('storage', () => {
  it('creates the folder 0700 and the database, -wal and -shm files 0600 whatever the umask', async () => {
    const dir = join(tempDir('ledger-'), 'state', 'nested');
    const file = join(dir, 'ledger.db');
    const old = process.umask(0);
    try {
      const l = Ledger.open(file);
      await l.claim(req('k1'));
      expect(mode(dir)).toBe(0o700);
      expect(mode(join(dir, '..'))).toBe(0o700);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect([f, mode(f)]).toEqual([f, 0o600]);
      l.close();
    } finally {
      process.umask(old);
    }
  });

  it('lookup returns the records of 100k keys at once', async () => {
    const l = Ledger.open(ledgerFile());
    const keys = Array.from({ length: 100_000 }, (_, i) => `key-${i}`);
    await Promise.all(keys.filter((_, i) => i % 2 === 0).map((k) => l.claim(req(k))));
    const t0 = performance.now();
    const found = l.lookup(keys);
    const ms = performance.now() - t0;
    expect(found.size).toBe(50_000);
    expect(found.get('key-0')).toEqual(l.get('key-0'));
    expect(found.has('key-1')).toBe(false);
    expect(ms).toBeLessThan(5000);
    expect(l.lookup([]).size).toBe(0);
    l.close();
  });

  it('stores keys, statuses and outcomes only: no column for letter content or merge values', () => {
    const file = ledgerFile();
    Ledger.open(file).close();
    const db = new Database(file, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
    const columns = db.prepare("SELECT name FROM pragma_table_info('letters')").pluck().all();
    // meta holds only the Canvas instance's origin (contract: a ledger belongs to one instance);
    // resolutions only who found what on a chart, and when; superseded a resent letter's earlier
    // record (keys, outcome, sha256 and render date: never content).
    expect(tables).toEqual(['letters', 'meta', 'resolutions', 'superseded']);
    expect(db.prepare("SELECT name FROM pragma_table_info('resolutions')").pluck().all()).toEqual(['id', 'letter_key', 'outcome', 'letter_id', 'by', 'at']);
    expect(db.prepare("SELECT name FROM pragma_table_info('superseded')").pluck().all()).toEqual(['id', 'letter_key', 'letter_id', 'http_status',
      'attempts', 'content_sha256', 'render_date', 'approval_id', 'approver', 'source_file', 'source_row', 'run_id', 'created_at',
      'sent_at', 'superseded_at', 'superseded_by_run', 'restored_at', 'sent_by', 'fields_sha256']);
    expect(db.prepare('SELECT key FROM meta').pluck().all()).toEqual([]);
    expect(columns.sort()).toEqual(
      ['letter_key', 'status', 'patient_key', 'provider_key', 'practice_location_key', 'template', 'http_status',
        'letter_id', 'attempts', 'source_file', 'source_row', 'run_id', 'pid', 'created_at', 'updated_at',
        // the sha256 of a sent letter and its render date (never its content), and its approval
        'content_sha256', 'render_date', 'approval_id', 'approver',
        // who ran the send (the account), for the audit, and the names (never the values) of its template's fields, hashed
        'sent_by', 'fields_sha256'].sort(),
    );
    expect(db.pragma('user_version', { simple: true })).toBe(4);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('opening a new ledger waits while another process locks it, then fails with LedgerBusyError past the timeout', async () => {
    const file = ledgerFile();
    // A new SQLite file, not yet a ledger nor WAL (an empty 0-byte file is refused as "not a ledger", see test/files.test.ts).
    const fresh = new Database(file);
    fresh.exec('CREATE TABLE t (x); DROP TABLE t;');
    fresh.close();
    // Another process holds a write lock on it for 300 ms: the switch to WAL must wait.
    const holder = spawn(process.execPath, ['-e', `
      const db = new (require(process.argv[1]))(process.argv[2]);
      db.exec('BEGIN IMMEDIATE');
      console.log('locked'); setTimeout(() => db.exec('COMMIT'), 300);`, require.resolve('better-sqlite3'), file]);
    await new Promise((r) => holder.stdout.once('data', r));
    const t0 = Date.now();
    expect(() => Ledger.open(file, { busyTimeoutMs: 100 })).toThrow(LedgerBusyError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    Ledger.open(file).close();
    await new Promise((r) => holder.once('exit', r));
  });

  it('refuses a file that is not an SQLite database with a message naming it, and leaves it alone', () => {
    const file = join(tempDir('ledger-'), 'ledger.db');
    const junk = 'patientKey,providerKey\nnot a database\n'.repeat(20);
    writeFileSync(file, junk);
    expect(() => Ledger.open(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*move it aside`, 's'));
    expect(readFileSync(file, 'utf8')).toBe(junk);
  });

  it('refuses an SQLite database that is not a ledger', () => {
    const file = ledgerFile();
    const other = new Database(file);
    other.exec('CREATE TABLE notes (body TEXT)');
    other.close();
    expect(() => Ledger.open(file)).toThrow(/not a canvas-letters ledger/);
  });
});

/** The built ledger module (the test setup has just built dist/ from the current src/). */
function builtLedgerUrl(): string {
  return pathToFileURL(join(ROOT, 'dist', 'ledger', 'ledger.js')).href;
}

describe('two processes', () => {
  it('claim the same 200 keys concurrently: every key is claimed exactly once overall', async () => {
    const dir = tempDir('ledger-');
    const file = join(dir, 'shared', 'ledger.db');
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
    writeFileSync(join(dir, 'keys.json'), JSON.stringify(keys));
    const worker = join(ROOT, 'test', 'support', 'ledger-worker.mjs');
    mkdirSync(join(dir, 'ready'));
    const args = [worker, builtLedgerUrl(), file, join(dir, 'keys.json'), join(dir, 'ready'), '2'];
    const run = () => promisify(execFile)(process.execPath, args, { timeout: 60_000 });
    const outputs = (await Promise.all([run(), run()])).map((r) => JSON.parse(r.stdout) as { runId: string; got: string[] });

    const all = outputs.flatMap((o) => o.got);
    expect(all.length).toBe(200);
    expect(new Set(all).size).toBe(200);
    expect(outputs.every((o) => o.got.length > 0)).toBe(true); // both really competed
    const l = Ledger.open(file);
    const records = l.lookup(keys);
    for (const o of outputs) {
      for (const k of o.got) expect(records.get(k)).toMatchObject({ status: 'sent', runId: o.runId, letterId: `L-${k}` });
    }
    l.close();
  });
});
