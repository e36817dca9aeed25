/**
 * The ledger as a tool, in process: resolving an unknown key (sent: skipped from then on; not-sent:
 * sendable by a plain run), the history of resolutions, finding a key by CSV file and row, the
 * list's filters and the audit CSV's formula safety.
 */
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { auditCsv } from '../src/ledger/audit.js';
import { Ledger, type ClaimRequest } from '../src/ledger/ledger.js';
import { ledgerVerdict } from '../src/send/decide.js';
import type { PlannedRow } from '../src/plan/validate.js';
import { UsageError } from '../src/errors.js';
import { tempDir } from './support/cli.js';

const KEYS = { patientKey: 'pat-1', providerKey: 'prov-1', practiceLocationKey: 'loc-1' };
const req = (letterKey: string, sourceFile = '/data/in.csv', row = 1, patientKey = KEYS.patientKey): ClaimRequest => ({
  letterKey, keys: { ...KEYS, patientKey }, template: 'visit', sourceFile, row,
});

/** A ledger holding each key in the given status, as finished earlier runs would leave it. */
async function ledgerWith(letters: Array<[ClaimRequest, 'sent' | 'failed' | 'unknown']>): Promise<Ledger> {
  const file = join(tempDir('ledger-resolve-'), 'ledger.db');
  const l = Ledger.open(file, { runId: 'earlier', sentBy: '=clerk' });
  for (const [r, status] of letters) {
    await l.claim(r);
    await l.finish(r.letterKey, { status, httpStatus: status === 'sent' ? 201 : status === 'unknown' ? 504 : 422, attempts: 1 });
  }
  l.close();
  return Ledger.open(file);
}

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

const planned = { row: 1, keys: KEYS, letterKey: 'k1', template: 'visit' } as unknown as PlannedRow;

describe('ledger resolve', () => {
  it('--sent: the key becomes sent, the next claim is refused, and the row is skipped saying who resolved it', async () => {
    const l = await ledgerWith([[req('k1'), 'unknown']]);
    const result = l.resolve({ letterKey: 'k1', outcome: 'sent', letterId: 'L-77', by: 'Dr A' });
    expect(result).toMatchObject({ previous: 'unknown', again: false, record: { status: 'sent', letterId: 'L-77' }, resolution: { outcome: 'sent', by: 'Dr A', letterId: 'L-77' } });
    for (const resendUnknown of [false, true]) expect(await l.claim(req('k1'), { resendUnknown })).toMatchObject({ claimed: false });
    const verdict = ledgerVerdict(planned, l.get('k1'), true);
    expect(verdict).toMatchObject({ status: 'skipped', letterId: 'L-77' });
    expect(verdict?.error).toBe(`already sent (ledger: resolved sent by Dr A ${result.resolution.at.slice(0, 10)})`);
    l.close();
  });

  it('--not-sent: the key becomes failed, so a plain run (no resendUnknown) claims and sends it', async () => {
    const l = await ledgerWith([[req('k1'), 'unknown']]);
    expect(ledgerVerdict(planned, l.get('k1'), false)).toMatchObject({ status: 'unknown' });
    l.resolve({ letterKey: 'k1', outcome: 'not-sent', by: 'Dr A' });
    expect(l.get('k1')).toMatchObject({ status: 'failed', lastResolution: { outcome: 'not-sent', by: 'Dr A' } });
    expect(ledgerVerdict(planned, l.get('k1'), false)).toBeUndefined();
    expect(await l.claim(req('k1'))).toEqual({ claimed: true });
    l.close();
  });

  it('keeps every resolution as history: resolving again corrects the status and adds a row', async () => {
    const l = await ledgerWith([[req('k1'), 'unknown']]);
    l.resolve({ letterKey: 'k1', outcome: 'not-sent', by: 'Ann' });
    const second = l.resolve({ letterKey: 'k1', outcome: 'sent', by: 'Bob' });
    expect(second).toMatchObject({ previous: 'failed', again: true, record: { status: 'sent' } });
    expect(l.resolutions('k1').get('k1')!.map((r) => [r.outcome, r.by])).toEqual([['not-sent', 'Ann'], ['sent', 'Bob']]);
    l.close();
  });

  it('refuses a key a run sent or failed, naming its status, and one it does not hold', async () => {
    const l = await ledgerWith([[req('k1'), 'sent'], [req('k2', '/data/in.csv', 2), 'failed']]);
    expect(usageError(() => l.resolve({ letterKey: 'k1', outcome: 'not-sent', by: 'Ann' }))).toMatch(/letter k1 \(\/data\/in.csv row 1\) is sent, and only an unknown or pending letter can be resolved/);
    expect(usageError(() => l.resolve({ letterKey: 'k2', outcome: 'sent', by: 'Ann' }))).toMatch(/is failed, and only an unknown or pending/);
    expect(usageError(() => l.resolve({ letterKey: 'nope', outcome: 'sent', by: 'Ann' }))).toMatch(/no letter nope in /);
    expect(l.resolutions().size).toBe(0);
    l.close();
  });

  it('refuses a key a run that is still going holds pending; a dead run\'s pending key can be resolved', async () => {
    const file = join(tempDir('ledger-resolve-'), 'ledger.db');
    const running = Ledger.open(file, { runId: 'running' });
    await running.claim(req('k1'));
    const l = Ledger.open(file);
    expect(usageError(() => l.resolve({ letterKey: 'k1', outcome: 'sent', by: 'Ann' }))).toMatch(/is pending in a run still going/);
    running.close(); // its process is this one, but no open ledger holds the run any more
    expect(l.resolve({ letterKey: 'k1', outcome: 'sent', by: 'Ann' }).previous).toBe('pending');
    l.close();
  });

  it('finds a key by its CSV file and row: the path, or a base name only when one file has it', async () => {
    const l = await ledgerWith([
      [req('k1', '/data/a/in.csv', 3), 'unknown'],
      [req('k2', '/data/b/in.csv', 3), 'unknown'],
      [req('k3', '/data/b/other.csv', 3), 'unknown'],
    ]);
    expect(usageError(() => l.resolve({ file: 'in.csv', row: 3, outcome: 'sent', by: 'Ann' }))).toMatch(
      /in\.csv is ambiguous: the ledger holds letters from 2 files of that name \(\/data\/a\/in\.csv, \/data\/b\/in\.csv\)/,
    );
    expect(l.resolve({ file: '/data/b/in.csv', row: 3, outcome: 'sent', by: 'Ann' }).record.letterKey).toBe('k2');
    expect(l.resolve({ file: 'in.csv', row: 3, outcome: 'sent', by: 'Ann', cwd: '/data/a' }).record.letterKey).toBe('k1');
    expect(l.resolve({ file: 'other.csv', row: 3, outcome: 'not-sent', by: 'Ann', cwd: '/elsewhere' }).record.letterKey).toBe('k3');
    expect(usageError(() => l.resolve({ file: 'other.csv', row: 4, outcome: 'sent', by: 'Ann' }))).toMatch(/no letter of \/data\/b\/other\.csv row 4/);
    expect(usageError(() => l.resolve({ file: 'none.csv', row: 1, outcome: 'sent', by: 'Ann' }))).toMatch(/no letter from a file named none\.csv/);
    l.close();
  });

  it('refuses an empty --by, a name or letter id with control characters (shown escaped), and a letter id with --not-sent, recording nothing', async () => {
    const l = await ledgerWith([[req('k1'), 'unknown']]);
    expect(usageError(() => l.resolve({ letterKey: 'k1', outcome: 'sent', by: '  ' }))).toMatch(/--by: expected the name/);
    for (const edit of [{ by: 'Ann\x1b[2J\nrow 1: ok' }, { by: 'Ann', letterId: 'L\r1' }]) {
      const message = usageError(() => l.resolve({ letterKey: 'k1', outcome: 'sent', ...edit }));
      expect(message).toContain('control characters are not allowed');
      for (const c of ['\x1b', '\n', '\r']) expect(message).not.toContain(c);
    }
    expect(usageError(() => l.resolve({ letterKey: 'k1', outcome: 'not-sent', letterId: 'L', by: 'Ann' }))).toMatch(/--letter-id goes with --sent only/);
    expect(l.get('k1')?.status).toBe('unknown');
    l.close();
  });
});

describe('ledger list and export', () => {
  it('filters records by status, patient and time', async () => {
    const l = await ledgerWith([
      [req('k1', '/d/in.csv', 1, 'pat-a'), 'sent'],
      [req('k2', '/d/in.csv', 2, 'pat-b'), 'unknown'],
      [req('k3', '/d/in.csv', 3, 'pat-b'), 'failed'],
    ]);
    expect(l.records().map((r) => r.letterKey)).toEqual(['k1', 'k2', 'k3']);
    expect(l.records({ status: 'unknown' }).map((r) => r.letterKey)).toEqual(['k2']);
    expect(l.records({ patientKey: 'pat-b' }).map((r) => r.letterKey)).toEqual(['k2', 'k3']);
    expect(l.records({ since: '2999-01-01T00:00:00.000Z' })).toEqual([]);
    const at = l.resolve({ letterKey: 'k2', outcome: 'not-sent', by: 'Ann' }).resolution.at;
    expect(l.records({ since: at }).map((r) => [r.letterKey, r.status, r.lastResolution?.by])).toEqual([['k2', 'failed', 'Ann']]);
    l.close();
  });

  it('the audit CSV holds every letter, who sent it and its resolutions, and neutralises formula-looking keys and names', async () => {
    const l = await ledgerWith([[req('k1', '/d/=cmd.csv', 1, '=HYPERLINK("x")'), 'unknown'], [req('k2'), 'sent']]);
    l.resolve({ letterKey: 'k1', outcome: 'not-sent', by: 'Ann' });
    l.resolve({ letterKey: 'k1', outcome: 'sent', letterId: 'L9', by: '@evil' });
    const { text, letters } = auditCsv(l);
    expect(letters).toBe(2);
    const [header, first, second] = parse(text, {});
    expect(header).toEqual(['letterKey', 'status', 'patientKey', 'providerKey', 'practiceLocationKey', 'template', 'sourceFile', 'row',
      'createdAt', 'updatedAt', 'httpStatus', 'letterId', 'attempts', 'approvalId', 'approver', 'resolutions', 'sentBy']);
    const cell = (row: string[] | undefined, col: string) => row![header!.indexOf(col)];
    expect(cell(first, 'patientKey')).toBe(`'=HYPERLINK("x")`);
    expect(cell(first, 'status')).toBe('sent');
    expect(cell(first, 'letterId')).toBe('L9');
    expect(cell(first, 'resolutions')).toMatch(/^\S+Z not-sent by Ann; \S+Z sent \(letter id L9\) by @evil$/);
    expect(cell(second, 'resolutions')).toBe('');
    expect([cell(first, 'sentBy'), cell(second, 'sentBy')]).toEqual(["'=clerk", "'=clerk"]);
    for (const row of [first!, second!]) for (const c of row) expect(c).not.toMatch(/^[=+\-@\t\r]/);
    l.close();
  });
});
