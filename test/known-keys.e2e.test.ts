/**
 * End-to-end: the built CLI's `send` to `canvas-letters sandbox --known-keys` (both built-CLI
 * processes, port 0): a row whose patientKey the sandbox's directory does not know is `failed`
 * with the sandbox's OperationOutcome text, as Canvas would refuse it; the other rows are `sent`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCliAsync, startCli, tempDir, waitFor, type CliProcess } from './support/cli.js';

const UNKNOWN = 'ffffeeeeddddccccbbbbaaaa99998888';

describe('send to a --known-keys sandbox', () => {
  let sandbox: CliProcess;
  let out = '';
  let err = '';
  let url = '';

  beforeAll(async () => {
    sandbox = startCli(['sandbox', '--port', '0', '--known-keys']);
    sandbox.child.stdout!.on('data', (d: string) => (out += d));
    sandbox.child.stderr!.on('data', (d: string) => (err += d));
    await waitFor(() => err.includes('Inbox: '), 15_000);
    url = /CANVAS_BASE_URL=(\S+)/.exec(out)![1]!;
  });

  afterAll(async () => {
    sandbox.child.kill('SIGINT');
    await sandbox.done;
  });

  it('says it refuses unknown keys', () => {
    expect(err).toContain('Known keys: a letter for a patient, provider or location not in the directory is refused (422)');
  });

  it('reports the row with an unknown patientKey failed with the OperationOutcome text, and the others sent', async () => {
    const dir = tempDir('cl-known-e2e-');
    const rows = parse<Record<string, string>>(readFileSync(join(ROOT, 'samples', 'jury-duty.csv')), { columns: true, bom: true }).slice(0, 4);
    rows[2]!.patientKey = UNKNOWN;
    writeFileSync(join(dir, 'in.csv'), stringify(rows, { header: true, columns: Object.keys(rows[0]!) }));
    const env = { CANVAS_BASE_URL: url, CANVAS_CLIENT_ID: 'sandbox-client', CANVAS_CLIENT_SECRET: 'sandbox-secret', CANVAS_ACCESS_TOKEN: '' };
    const r = await runCliAsync(['send', join(dir, 'in.csv'), '-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates'), '--ledger', join(dir, 'ledger.db'), '-o', join(dir, 'out'), '--yes'], { cwd: dir, env });
    expect(r.stderr).toContain('3 sent');
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')) as { rows: { row: number; status: string; httpStatus?: number; error?: string }[] };
    expect(report.rows.map((row) => row.status)).toEqual(['sent', 'sent', 'failed', 'sent']);
    expect(report.rows[2]).toMatchObject({ httpStatus: 422, error: expect.stringContaining(`patientKey ${UNKNOWN}: no such patient`) });
    const letters = (await (await fetch(`${url}/sandbox/letters`)).json()) as { patientKey: string }[];
    expect(letters.map((l) => l.patientKey).sort()).toEqual([rows[0], rows[1], rows[3]].map((row) => row!.patientKey).sort());
  });
});
