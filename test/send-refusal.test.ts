/**
 * The library's `send` says why a run was refused (`refusal`), while report.json keeps its
 * `refused` flag: invalid rows, a confirmation that said no, credentials Canvas refused; and
 * no refusal for a run that sent. In process, against the sandbox.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/canvas/index.js';
import { send, type SendOptions } from '../src/send/index.js';
import { useSandbox } from './support/sandbox.js';
import { ROOT, tempDir } from './support/cli.js';

const box = useSandbox();
let dir: string;
beforeEach(() => {
  dir = tempDir('cl-refusal-');
});

const SAMPLE = join(ROOT, 'samples', 'jury-duty.csv');

function options(csv: string, more: Partial<SendOptions> = {}, env: NodeJS.ProcessEnv = {}): SendOptions {
  return {
    csv,
    templatesDir: join(ROOT, 'templates'),
    template: 'jury-duty',
    out: join(dir, 'out'),
    ledgerFile: join(dir, 'ledger.db'),
    config: () => loadConfig({ env: box.env(env), cwd: dir }),
    retryBaseDelayMs: 1,
    ...more,
  };
}

/** report.json's summary as written. */
function writtenSummary(): { refused: boolean; exitCode: number } {
  return (JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')) as { summary: { refused: boolean; exitCode: number } }).summary;
}

describe('send: why a run was refused', () => {
  it('invalid rows without skipInvalid', async () => {
    const csv = join(dir, 'bad.csv');
    const lines = readFileSync(SAMPLE, 'utf8').split('\n');
    lines[2] = lines[2]!.replace(/^[^,]*/, 'not a key!');
    writeFileSync(csv, lines.join('\n'));
    const result = await send(options(csv));
    expect(result.refusal).toBe('invalid-rows');
    expect(result.summary).toMatchObject({ refused: true, exitCode: 2 });
    expect(writtenSummary()).toMatchObject({ refused: true, exitCode: 2 });
    expect(box.sandbox.letters).toHaveLength(0);
  });

  it('a confirmation that says no', async () => {
    const result = await send(options(SAMPLE, { confirm: () => false }));
    expect(result.refusal).toBe('not-confirmed');
    expect(writtenSummary()).toMatchObject({ refused: true, exitCode: 2 });
  });

  it('credentials Canvas refuses', async () => {
    const result = await send(options(SAMPLE, {}, { CANVAS_CLIENT_SECRET: 'not-the-secret' }));
    expect(result.refusal).toBe('credentials');
    expect(writtenSummary()).toMatchObject({ refused: true, exitCode: 2 });
  });

  it('none for a run that sent', async () => {
    const result = await send(options(SAMPLE));
    expect(result.refusal).toBeUndefined();
    expect(writtenSummary()).toMatchObject({ refused: false, exitCode: 0 });
  });
});
