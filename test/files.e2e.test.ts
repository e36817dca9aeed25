/**
 * End-to-end: the contract's "Files the tool writes", driving the built CLI under `umask 000`
 * against the sandbox (in this process, port 0). Symlinks, FIFOs and devices are made in
 * temporary folders only; every planted symlink's target is checked unchanged (content and mode).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { CLI, ROOT, tempDir, type CliResult } from './support/cli.js';
import { juryCsv } from './support/rows.js';

const box = useSandbox();
let dir: string;
beforeEach(() => {
  dir = tempDir('cl-files-e2e-');
});

const mode = (p: string) => statSync(p).mode & 0o777;

/** Run the CLI under `umask 000`, killed after `killAfterMs` (a FIFO that blocks shows as a null exit code). */
function run(args: string[], killAfterMs = 30_000): Promise<CliResult> {
  const child = spawn('sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, CLI, ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', ...box.env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A CSV of n jury-duty rows, the first with key number from + 1. */
function writeCsv(name: string, n: number, from = 0): string {
  const file = join(dir, name);
  writeFileSync(file, juryCsv(n, { first: from + 1 }));
  return file;
}

const tpl = ['-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates')];
const ledgerArgs = (ledger = join(dir, 'ledger.db')) => ['--ledger', ledger];
const send = (csvFile: string, out: string, ledger?: string) => run(['send', csvFile, ...tpl, ...ledgerArgs(ledger), '-o', out, '--yes']);
const preview = (csvFile: string, out: string) => run(['preview', csvFile, ...tpl, ...ledgerArgs(), '-o', out]);

/** A file elsewhere that a planted symlink points at. */
function victim(content = 'keep me\n'): string {
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere, { recursive: true });
  const file = join(elsewhere, `victim-${readdirSync(elsewhere).length}`);
  writeFileSync(file, content);
  chmodSync(file, 0o644);
  return file;
}
function expectUntouched(file: string, content = 'keep me\n'): void {
  expect(readFileSync(file, 'utf8')).toBe(content);
  expect(mode(file)).toBe(0o644);
}

describe('--ledger', () => {
  it('creates the ledger 0600 and the output folder 0700 with its files 0600 under umask 000', async () => {
    const r = await send(writeCsv('a.csv', 2), join(dir, 'out', 'nested'));
    expect(r.code).toBe(0);
    expect(mode(join(dir, 'ledger.db'))).toBe(0o600);
    for (const d of ['out', 'out/nested']) expect(mode(join(dir, d))).toBe(0o700);
    for (const f of ['report.csv', 'report.json']) expect(mode(join(dir, 'out', 'nested', f))).toBe(0o600);
  });

  it('refuses a character device as the ledger without changing its mode, and sends nothing (root only)', async (ctx) => {
    const dev = join(dir, 'null');
    try {
      execFileSync('mknod', [dev, 'c', '1', '3'], { stdio: 'ignore' });
    } catch {
      ctx.skip(); // mknod needs root (CAP_MKNOD): this case cannot be made here
      return;
    }
    const before = mode(dev);
    const r = await send(writeCsv('a.csv', 1), join(dir, 'out'), dev);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${dev} is a character device`);
    expect(mode(dev)).toBe(before);
    expect(lstatSync(dev).isCharacterDevice()).toBe(true);
    expect(box.sandbox.letters).toHaveLength(0);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('refuses a FIFO as the ledger at once (exit 2, never blocking)', async () => {
    const f = join(dir, 'ledger.db');
    execFileSync('mkfifo', [f]);
    const r = await send(writeCsv('a.csv', 1), join(dir, 'out'), f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ledger.db is a FIFO');
    expect(box.sandbox.letters).toHaveLength(0);
  });

  it('refuses a symlink to an empty file elsewhere: that file never becomes a ledger, nothing is sent', async () => {
    const target = victim('');
    symlinkSync(target, join(dir, 'ledger.db'));
    const r = await send(writeCsv('a.csv', 1), join(dir, 'out'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ledger.db is a symbolic link');
    expectUntouched(target, '');
    expect(box.sandbox.letters).toHaveLength(0);
  });
});

describe('-o', () => {
  it('refuses an --out folder that is a symlink to another folder: that folder is not chmod\'ed, not filled', async () => {
    const other = join(dir, 'other');
    mkdirSync(other);
    chmodSync(other, 0o755);
    symlinkSync(other, join(dir, 'out'));
    const r = await preview(writeCsv('a.csv', 1), join(dir, 'out'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('out is a symbolic link');
    expect(mode(other)).toBe(0o755);
    expect(readdirSync(other)).toEqual([]);
  });

  it('refuses a planted symlink out/report.csv, leaving its target untouched', async () => {
    mkdirSync(join(dir, 'out'));
    const target = victim();
    symlinkSync(target, join(dir, 'out', 'report.csv'));
    const r = await send(writeCsv('a.csv', 1), join(dir, 'out'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('report.csv is a symbolic link');
    expectUntouched(target);
    expect(box.sandbox.letters).toHaveLength(0);
  });

  it('never reuses a folder holding an earlier send report (exit 2, its files intact)', async () => {
    const out = join(dir, 'out');
    expect((await send(writeCsv('a.csv', 2), out)).code).toBe(0);
    const before = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    const again = await preview(writeCsv('b.csv', 1, 10), out);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('the record of what was sent');
    expect(Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]))).toEqual(before);
    expect((await send(writeCsv('c.csv', 1, 20), out)).code).toBe(2);
    expect(box.sandbox.letters).toHaveLength(2);
  });

  it('replaces a folder holding only an earlier preview', async () => {
    const out = join(dir, 'out');
    expect((await preview(writeCsv('a.csv', 3), out)).code).toBe(0);
    expect(readdirSync(join(out, 'letters'))).toHaveLength(3);
    const r = await preview(writeCsv('b.csv', 1), out);
    expect(r.code).toBe(0);
    expect(readdirSync(join(out, 'letters'))).toEqual(['row-00001.html']);
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).summary.csv).toContain('b.csv');
    expect(mode(join(out, 'letters'))).toBe(0o700);
    expect(mode(join(out, 'index.html'))).toBe(0o600);
  });

  it('refuses a non-empty folder holding other files', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = await preview(writeCsv('a.csv', 1), out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('found notes.txt');
    expect(readdirSync(out)).toEqual(['notes.txt']);
  });
});

describe('watch', () => {
  let inbox: string;
  beforeEach(() => {
    inbox = join(dir, 'inbox');
    mkdirSync(inbox);
  });
  const once = () => run(['watch', inbox, ...tpl, ...ledgerArgs(), '--once', '--settle', '0.1']);
  function drop(name: string, content: string): void {
    const file = join(inbox, name);
    writeFileSync(file, content);
    const t = Date.now() / 1000 - 60;
    utimesSync(file, t, t);
  }

  it('creates processing/, done/, failed/ and its state folder 0700 and its files 0600 under umask 000', async () => {
    drop('a.csv', juryCsv(1));
    const r = await once();
    expect(r.code).toBe(0);
    for (const d of ['processing', 'done', 'failed', '.canvas-letters', 'done/a.csv.report']) expect([d, mode(join(inbox, d))]).toEqual([d, 0o700]);
    for (const f of ['.canvas-letters/status.json', '.canvas-letters/watch.lock', 'done/a.csv.report/report.csv']) expect([f, mode(join(inbox, f))]).toEqual([f, 0o600]);
  });

  it('never takes a symlink planted in processing/ or in the inbox: left where it is, named in a warning, nothing sent', async () => {
    mkdirSync(join(inbox, 'processing'));
    const outside = victim(juryCsv(2));
    symlinkSync(outside, join(inbox, 'processing', 'planted.csv'));
    symlinkSync(outside, join(inbox, 'dropped\nwarning: forged.csv'));
    const r = await once();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: processing/planted.csv is a symbolic link: never taken, left where it is');
    expect(r.stderr).toContain('warning: dropped\\nwarning: forged.csv is a symbolic link');
    expect(r.stderr).not.toMatch(/^warning: forged/m);
    expect(lstatSync(join(inbox, 'processing', 'planted.csv')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(inbox, 'dropped\nwarning: forged.csv')).isSymbolicLink()).toBe(true);
    expect(box.sandbox.letters).toHaveLength(0);
    expectUntouched(outside, juryCsv(2));
  });

  it('refuses a done/ that is a symlink (exit 2) before anything is moved', async () => {
    const elsewhere = join(dir, 'elsewhere-done');
    mkdirSync(elsewhere);
    chmodSync(elsewhere, 0o755);
    symlinkSync(elsewhere, join(inbox, 'done'));
    drop('a.csv', juryCsv(1));
    const r = await once();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('done is a symbolic link');
    expect(readdirSync(inbox).sort()).toEqual(['a.csv', 'done']);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(mode(elsewhere)).toBe(0o755);
    expect(box.sandbox.letters).toHaveLength(0);
  });

  it('never writes through a planted .canvas-letters/status.json.tmp symlink', async () => {
    mkdirSync(join(inbox, '.canvas-letters'));
    const target = victim();
    symlinkSync(target, join(inbox, '.canvas-letters', 'status.json.tmp'));
    drop('a.csv', juryCsv(1));
    const r = await once();
    expect(r.code).toBe(0);
    expectUntouched(target);
    expect(JSON.parse(readFileSync(join(inbox, '.canvas-letters', 'status.json'), 'utf8')).files.done).toBe(1);
  });

  it('refuses a lock owner file that is a symlink (exit 2), leaving its target untouched', async () => {
    mkdirSync(join(inbox, '.canvas-letters'));
    const target = victim();
    symlinkSync(target, join(inbox, '.canvas-letters', 'watch.owner.json'));
    drop('a.csv', juryCsv(1));
    const r = await once();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('watch.owner.json is a symbolic link');
    expectUntouched(target);
    expect(readdirSync(inbox)).toContain('a.csv');
    expect(box.sandbox.letters).toHaveLength(0);
  });
});
