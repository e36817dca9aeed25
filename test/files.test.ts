/**
 * The file rules (contract: "Files the tool writes"), in process: never follow a symlink in the
 * last component, never open a FIFO or device, never change the mode of, truncate or overwrite
 * what the tool did not create, 0600/0700 whatever the umask. Every node (symlink, FIFO,
 * device) is made inside a temporary folder; no test touches a real system file.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareOutDir } from '../src/report/out-dir.js';
import { UnsafePathError, checkPath, createPrivateFile, mkdirPrivate, moveNoReplace, prepareLedgerFile, writePrivateFile } from '../src/fsutil.js';
import { Ledger, LedgerError } from '../src/ledger/ledger.js';
import { ReportWriter } from '../src/report/writer.js';
import { InboxScanner } from '../src/watch/inbox.js';
import { tempDir } from './support/cli.js';

const mode = (p: string) => statSync(p).mode & 0o777;

let dir: string;
let oldUmask: number;
beforeEach(() => {
  dir = tempDir('cl-files-');
  oldUmask = process.umask(0);
});
afterEach(() => {
  process.umask(oldUmask);
});

/** A file elsewhere (outside the folders the tool writes) that a planted symlink points at. */
function victim(content = 'keep me\n', fileMode = 0o644): string {
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere, { recursive: true });
  const file = join(elsewhere, `victim-${readdirSync(elsewhere).length}.txt`);
  writeFileSync(file, content);
  chmodSync(file, fileMode);
  return file;
}

function expectUntouched(file: string, content: string, fileMode: number): void {
  expect(readFileSync(file, 'utf8')).toBe(content);
  expect(mode(file)).toBe(fileMode);
}

function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/** A character device like /dev/null, made in the temp folder (root only): undefined when mknod is not allowed. */
function charDevice(path: string): string | undefined {
  try {
    execFileSync('mknod', [path, 'c', '1', '3'], { stdio: 'ignore' });
    return path;
  } catch {
    return undefined;
  }
}

describe('folders', () => {
  it('creates missing folders 0700 under umask 000, and leaves an existing folder its mode', () => {
    const loose = join(dir, 'loose');
    mkdirSync(loose, { mode: 0o755 });
    expect(mkdirPrivate(join(loose, 'a', 'b'))).toEqual({ created: true });
    expect(mode(join(loose, 'a'))).toBe(0o700);
    expect(mode(join(loose, 'a', 'b'))).toBe(0o700);
    expect(mode(loose)).toBe(0o755);
    expect(mkdirPrivate(loose)).toEqual({ created: false });
    expect(mode(loose)).toBe(0o755);
  });

  it('refuses a folder path that is a symlink, naming it, and leaves the target folder as it was', () => {
    const target = join(dir, 'other');
    mkdirSync(target, { mode: 0o755 });
    symlinkSync(target, join(dir, 'link'));
    expect(() => mkdirPrivate(join(dir, 'link'))).toThrow(UnsafePathError);
    expect(() => mkdirPrivate(join(dir, 'link'))).toThrow(/link is a symbolic link/);
    expect(mode(target)).toBe(0o755);
    expect(readdirSync(target)).toEqual([]);
  });

  it('refuses a file where a folder should be', () => {
    writeFileSync(join(dir, 'f'), 'x');
    expect(() => mkdirPrivate(join(dir, 'f'))).toThrow(/f is a file, not a folder/);
  });

  it('shows a path with a newline or escape sequence escaped in the refusal', () => {
    const name = join(dir, 'evil\nwarning: forged\x1b[31m');
    symlinkSync(dir, name);
    let message = '';
    try {
      mkdirPrivate(name);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('evil\\nwarning: forged\\x1b[31m is a symbolic link');
    expect(message).not.toContain('\n');
  });
});

describe('files', () => {
  it('creates a file 0600 under umask 000 and refuses to open one that exists, leaving it intact', () => {
    const file = join(dir, 'new.txt');
    writePrivateFile(file, 'a');
    expect(mode(file)).toBe(0o600);
    const existing = victim();
    expect(() => writePrivateFile(existing, 'b')).toThrow(/already exists/);
    expect(() => createPrivateFile(existing)).toThrow(UnsafePathError);
    expectUntouched(existing, 'keep me\n', 0o644);
  });

  it('never writes through a planted symlink, new or replaced, and leaves the target content and mode unchanged', () => {
    const target = victim();
    symlinkSync(target, join(dir, 'report.csv'));
    expect(() => writePrivateFile(join(dir, 'report.csv'), 'x')).toThrow(/report\.csv is a symbolic link/);
    expect(() => writePrivateFile(join(dir, 'report.csv'), 'x', { replace: true })).toThrow(/is a symbolic link/);
    expect(() => createPrivateFile(join(dir, 'report.csv'))).toThrow(/is a symbolic link/);
    expectUntouched(target, 'keep me\n', 0o644);
    expect(lstatSync(join(dir, 'report.csv')).isSymbolicLink()).toBe(true);
  });

  it('refuses a FIFO at once, without opening it (which would block)', () => {
    const f = fifo(join(dir, 'status.json'));
    expect(() => writePrivateFile(f, 'x', { replace: true })).toThrow(/is a FIFO/);
    expect(() => writePrivateFile(f, 'x')).toThrow(/is a FIFO/);
    expect(() => checkPath(f, 'file')).toThrow(/is a FIFO/);
  });

  it('replaces a file through a fresh temporary name: a planted symlink at the old fixed temp name is never followed', () => {
    const target = victim();
    const file = join(dir, 'status.json');
    symlinkSync(target, `${file}.tmp`);
    writePrivateFile(file, 'one', { replace: true });
    writePrivateFile(file, 'two', { replace: true, fsync: true });
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(mode(file)).toBe(0o600);
    expectUntouched(target, 'keep me\n', 0o644);
    expect(readdirSync(dir).sort()).toEqual(['elsewhere', 'status.json', 'status.json.tmp']);
  });

  it('moves without replacing what is at the destination', () => {
    writeFileSync(join(dir, 'a'), 'a');
    writeFileSync(join(dir, 'b'), 'b');
    expect(() => moveNoReplace(join(dir, 'a'), join(dir, 'b'))).toThrow(/b already exists/);
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('b');
    moveNoReplace(join(dir, 'a'), join(dir, 'c'));
    expect(readFileSync(join(dir, 'c'), 'utf8')).toBe('a');
  });
});

describe('ledger file', () => {
  it('creates a new ledger 0600 (and its folder 0700) under umask 000 and says it created it', () => {
    const file = join(dir, 'state', 'ledger.db');
    const l = Ledger.open(file);
    expect(l.created).toBe(true);
    l.close();
    expect(mode(file)).toBe(0o600);
    expect(mode(join(dir, 'state'))).toBe(0o700);
    const again = Ledger.open(file);
    expect(again.created).toBe(false);
    again.close();
  });

  it('does not change the mode of an existing ledger it did not create', () => {
    const file = join(dir, 'ledger.db');
    Ledger.open(file).close();
    chmodSync(file, 0o640);
    Ledger.open(file).close();
    expect(mode(file)).toBe(0o640);
  });

  it('refuses an existing empty file as "not a ledger", saying what to do, and leaves it as it was', () => {
    const file = join(dir, 'ledger.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    expect(() => Ledger.open(file)).toThrow(LedgerError);
    expect(() => Ledger.open(file)).toThrow(/exists but is empty \(0 bytes\): it is not a new ledger.*restore it from a backup/);
    expectUntouched(file, '', 0o644);
  });

  it('refuses a symlink to an empty file elsewhere: that file never becomes a ledger', () => {
    const target = victim('', 0o644);
    symlinkSync(target, join(dir, 'ledger.db'));
    expect(() => Ledger.open(join(dir, 'ledger.db'))).toThrow(/ledger\.db is a symbolic link/);
    expectUntouched(target, '', 0o644);
  });

  it('refuses a FIFO ledger at once, without opening it', () => {
    const f = fifo(join(dir, 'ledger.db'));
    expect(() => Ledger.open(f)).toThrow(/ledger\.db is a FIFO/);
  });

  it('refuses a character device ledger without changing its mode (root only)', (ctx) => {
    const dev = charDevice(join(dir, 'null'));
    if (!dev) {
      ctx.skip(); // mknod needs root (CAP_MKNOD): the device case cannot be made here
      return;
    }
    const before = mode(dev);
    expect(() => Ledger.open(dev)).toThrow(/null is a character device/);
    expect(mode(dev)).toBe(before);
  });

  it('refuses -wal or -shm that are symlinks or not regular files, leaving their targets untouched', () => {
    const file = join(dir, 'ledger.db');
    Ledger.open(file).close();
    const target = victim();
    symlinkSync(target, `${file}-wal`);
    expect(() => prepareLedgerFile(file)).toThrow(/ledger\.db-wal is a symbolic link/);
    expect(() => Ledger.open(file)).toThrow(LedgerError);
    expectUntouched(target, 'keep me\n', 0o644);
    const shm = fifo(`${join(dir, 'other.db')}-shm`);
    expect(() => prepareLedgerFile(join(dir, 'other.db'))).toThrow(/other\.db-shm is a FIFO/);
    expect(existsSync(join(dir, 'other.db'))).toBe(false);
    expect(lstatSync(shm).isFIFO()).toBe(true);
  });
});

describe('output folder reuse', () => {
  async function writeReport(out: string, command: string): Promise<void> {
    const w = new ReportWriter(out);
    w.add({ row: 1, status: command === 'preview' ? 'previewed' : 'sent', patientKey: 'p', providerKey: 'v', practiceLocationKey: 'l', template: 't' });
    await w.close({ command, csv: 'x.csv', out, startedAt: 'now', refused: false, interrupted: false });
  }

  it('uses an existing empty folder without changing its mode', () => {
    const out = join(dir, 'out');
    mkdirSync(out, { mode: 0o755 });
    prepareOutDir(out);
    expect(mode(out)).toBe(0o755);
  });

  it('replaces an earlier preview: its report and letter files are removed', async () => {
    const out = join(dir, 'out');
    prepareOutDir(out);
    await writeReport(out, 'preview');
    writePrivateFile(join(out, 'letters', 'row-00001.html'), '<p>');
    writePrivateFile(join(out, 'index.html'), '<html>');
    prepareOutDir(out);
    expect(readdirSync(out)).toEqual([]);
  });

  it('never reuses a folder holding a send report, and leaves its files intact', async () => {
    const out = join(dir, 'out');
    prepareOutDir(out);
    await writeReport(out, 'send');
    const before = readFileSync(join(out, 'report.json'), 'utf8');
    expect(() => prepareOutDir(out)).toThrow(/holds the report of an earlier `send` run, the record of what was sent/);
    expect(readFileSync(join(out, 'report.json'), 'utf8')).toBe(before);
    expect(readdirSync(out).sort()).toEqual(['report.csv', 'report.json']);
  });

  it('refuses a folder whose report.json cannot be read, or that is missing (a crashed run)', () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'report.csv'), 'row,status\n');
    expect(() => prepareOutDir(out)).toThrow(/no readable report\.json/);
    writeFileSync(join(out, 'report.json'), '{"summary": ');
    expect(() => prepareOutDir(out)).toThrow(/no readable report\.json/);
    expect(readdirSync(out).sort()).toEqual(['report.csv', 'report.json']);
  });

  it('refuses a folder holding other files', () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expect(() => prepareOutDir(out)).toThrow(/is not empty and does not hold only an earlier preview \(found notes\.txt\)/);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('refuses a preview folder with a planted symlink (report.csv, or letters/), leaving the target untouched', async () => {
    const out = join(dir, 'out');
    prepareOutDir(out);
    await writeReport(out, 'preview');
    const target = victim();
    symlinkSync(target, join(out, 'index.html'));
    expect(() => prepareOutDir(out)).toThrow(/index\.html is a symbolic link/);
    expectUntouched(target, 'keep me\n', 0o644);

    const out2 = join(dir, 'out2');
    mkdirSync(out2);
    symlinkSync(target, join(out2, 'report.csv'));
    expect(() => prepareOutDir(out2)).toThrow(/report\.csv is a symbolic link/);
    expectUntouched(target, 'keep me\n', 0o644);
  });

  it('refuses an --out folder that is a symlink to another folder, which stays unchanged and empty', () => {
    const other = join(dir, 'other');
    mkdirSync(other, { mode: 0o755 });
    symlinkSync(other, join(dir, 'out'));
    expect(() => prepareOutDir(join(dir, 'out'))).toThrow(/out is a symbolic link/);
    expect(mode(other)).toBe(0o755);
    expect(readdirSync(other)).toEqual([]);
  });
});

describe('inbox scanner', () => {
  it('never takes a symlinked or FIFO *.csv, and reports each once while it stays', () => {
    const target = victim('a,b\n');
    symlinkSync(target, join(dir, 'planted.csv'));
    fifo(join(dir, 'pipe.csv'));
    writeFileSync(join(dir, 'real.csv'), 'a,b\n');
    let now = Date.now() + 60_000;
    const scanner = new InboxScanner(dir, 1000, () => now);
    expect(scanner.scan().map((c) => c.name)).toEqual(['real.csv']);
    expect(scanner.takeRefused().sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual([
      { name: 'pipe.csv', why: 'is a FIFO (named pipe)' },
      { name: 'planted.csv', why: 'is a symbolic link' },
    ]);
    now += 5000;
    scanner.scan();
    expect(scanner.takeRefused()).toEqual([]);
  });
});
