/**
 * Two processes creating the same new ledger: the one whose exclusive create loses the race
 * opens the other's file instead of refusing it as "already exists". The other process is
 * played by a mocked openSync that makes the file just before the exclusive create runs.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';

const race = vi.hoisted(() => ({ file: '', made: 0, as: 'file' }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const openSync = ((path: string, ...rest: unknown[]) => {
    if (path === race.file) {
      race.file = '';
      race.made++;
      if (race.as === 'folder') fs.mkdirSync(path);
      else fs.closeSync(fs.openSync(path, 'wx', 0o600)); // the other process wins the create
    }
    return (fs.openSync as (...args: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  return { ...fs, default: { ...fs, openSync }, openSync };
});

const { prepareLedgerFile } = await import('../src/fsutil.js');
const { Ledger } = await import('../src/ledger/ledger.js');
const { tempDir } = await import('./support/cli.js');

afterEach(() => {
  race.file = '';
  race.as = 'file';
});

describe('a new ledger created by another process at the same moment', () => {
  it('is opened as an existing file, not refused as already there', () => {
    const file = join(tempDir('cl-race-'), 'ledger.db');
    race.file = file;
    expect(prepareLedgerFile(file)).toEqual({ created: false });
    expect(race.made).toBe(1);
  });

  it('is refused when what appeared meanwhile is not a regular file', () => {
    const file = join(tempDir('cl-race-'), 'ledger.db');
    race.file = file;
    race.as = 'folder';
    expect(() => prepareLedgerFile(file)).toThrow(/ledger\.db is a folder/);
  });

  it('is refused as an empty ledger when the winner never makes it a database, not taken as new', () => {
    const file = join(tempDir('cl-race-'), 'ledger.db');
    race.file = file;
    // The loser waits for the winner's file to get its first page; here the winner never writes,
    // and an empty ledger taken as new would send every letter again.
    expect(() => Ledger.open(file, { busyTimeoutMs: 200 })).toThrow(/empty/);
  });
});
