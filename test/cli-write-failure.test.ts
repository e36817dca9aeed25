/** How `send` tells a person what a write failure left unrecorded: row by row, on stderr. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { printWriteFailure } from '../src/cli/send.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function stderrOf(fn: () => void): string {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  fn();
  return lines.join('');
}

describe('printWriteFailure', () => {
  it('lists every outcome the ledger could not record with its row, letter key and outcome, and how to record it', () => {
    const out = stderrOf(() =>
      printWriteFailure(
        {
          message: 'ledger: /tmp/l.db: database or disk is full',
          unrecorded: [
            { row: 3, letterKey: 'k3', outcome: 'sent, Canvas letter id 42' },
            { row: 9, letterKey: 'k9', outcome: 'unknown' },
          ],
          unreported: 0,
          summaryUnwritten: false,
        },
        '/tmp/out/report.csv',
        '/tmp/out/report.json',
      ),
    );
    expect(out).toContain('not recorded in the ledger (2 rows; the next run reports them unknown):\n');
    expect(out).toContain('  row 3, letter key k3: sent, Canvas letter id 42\n');
    expect(out).toContain('  row 9, letter key k9: unknown\n');
    expect(out).toContain('a row marked sent was created in Canvas: never send it again with --resend-unknown');
    expect(out).not.toContain('missing from');
  });

  it('says how many rows the report is missing in one line, with the file name escaped', () => {
    const out = stderrOf(() =>
      printWriteFailure({ message: 'x', unrecorded: [], unreported: 300, summaryUnwritten: true }, '/tmp/o\nut/report.csv', '/tmp/o\nut/report.json'),
    );
    expect(out.match(/missing from/g)).toHaveLength(1);
    expect(out).toContain('300 rows are missing from ');
    expect(out).not.toContain('/tmp/o\nut');
    expect(out).toContain('report.json could not be written');
  });
});
