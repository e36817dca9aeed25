/**
 * End-to-end: `--lookup` with the built CLI against the sandbox's FHIR directory (the bundled
 * samples/sandbox-directory.json): keys-only CSVs become full letters, unknown keys are caught
 * before anything is sent, each key is read once, and nothing read appears in the output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCliAsync, startCli, tempDir, waitFor } from './support/cli.js';

interface Named { name?: Array<{ given?: string[]; family?: string }> }
const directory = JSON.parse(readFileSync(join(ROOT, 'samples', 'sandbox-directory.json'), 'utf8')) as Record<string, Record<string, Named>>;
const keysOnly = readFileSync(join(ROOT, 'samples', 'keys-only.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));

const box = useSandbox();
let dir: string;
beforeEach(() => {
  dir = tempDir('cl-lookup-');
});

const env = () => box.env();
const common = (csv: string) => [csv, '-t', 'patient-verification', '--templates-dir', join(ROOT, 'templates'), '--lookup', '-o', join(dir, 'out')];
const preview = (csv: string, extra: string[] = []) => runCliAsync(['preview', ...common(csv), ...extra], { cwd: dir, env: env() });
const send = (csv: string, extra: string[] = []) => runCliAsync(['send', ...common(csv), '--yes', '--ledger', join(dir, 'l.db'), ...extra], { cwd: dir, env: env() });
const report = () => JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')).rows as Array<Record<string, string>>;
const familyOf = (key: string) => directory.Patient![key]!.name![0]!.family!;

describe('--lookup', () => {
  it('turns a keys-only CSV into full letters, and says it reads from Canvas', async () => {
    const r = await preview(join(ROOT, 'samples', 'keys-only.csv'));
    expect(r.stderr).toMatch(/--lookup: reading .* \(read-only/);
    expect(r.code).toBe(0);
    const rows = report();
    expect(rows).toHaveLength(keysOnly.length);
    rows.forEach((row, i) => {
      const letter = readFileSync(join(dir, 'out', row.preview!), 'utf8');
      expect(letter).toContain(familyOf(keysOnly[i]![0]!));
      expect(letter).toContain('Maple Grove Family Medicine');
    });
    // Nothing read from Canvas reaches the terminal.
    for (const [patientKey] of keysOnly) expect(r.stdout + r.stderr).not.toContain(familyOf(patientKey!));
  });

  it('reads each patient, provider and location once, then sends every letter', async () => {
    const r = await send(join(ROOT, 'samples', 'keys-only.csv'), ['-c', '4']);
    expect(r.code).toBe(0);
    expect(box.sandbox.letters).toHaveLength(keysOnly.length);
    const counts = box.sandbox.stats().fhirReadCounts;
    expect(Object.values(counts).every((n) => n === 1)).toBe(true);
    const providers = new Set(keysOnly.map((k) => k[1]));
    expect(Object.keys(counts).filter((k) => k.startsWith('Practitioner/'))).toHaveLength(providers.size);
  });

  it('makes rows with a key Canvas does not know invalid before anything is sent', async () => {
    const csv = join(dir, 'unknown.csv');
    const [p, v, l] = keysOnly[0]!;
    writeFileSync(csv, `patientKey,providerKey,practiceLocationKey\n${p},${v},${l}\n${'f'.repeat(32)},${v},${l}\n`);
    const r = await send(csv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('row 2, column patientKey: Canvas has no Patient with this key');
    expect(box.sandbox.stats().letterRequests).toBe(0);
  });

  it('lets a CSV column win over the lookup', async () => {
    const csv = join(dir, 'override.csv');
    const [p, v, l] = keysOnly[0]!;
    writeFileSync(csv, `patientKey,providerKey,practiceLocationKey,patient.fullName\n${p},${v},${l},Zebulon Override\n`);
    const r = await preview(csv);
    expect(r.code).toBe(0);
    const letter = readFileSync(join(dir, 'out', report()[0]!.preview!), 'utf8');
    expect(letter).toContain('Zebulon Override');
  });

  it('retries a FHIR read that failed with 500 or timed out, and goes on', async () => {
    box.sandbox.scriptFhir('500', 'hang');
    const r = await send(join(ROOT, 'samples', 'keys-only.csv'), ['--timeout', '1']);
    expect(r.code).toBe(0);
    expect(report().every((row) => row.status === 'sent')).toBe(true);
  });
});

describe('--lookup interrupted', () => {
  it('Ctrl-C while send reads the directory stops the reads, sends nothing and exits 130, not 2', async () => {
    box.sandbox.setFaults({ latencyMs: 30_000 }); // every read hangs until the run is interrupted
    const args = ['send', ...common(join(ROOT, 'samples', 'keys-only.csv')), '--yes', '--ledger', join(dir, 'l.db')];
    const run = startCli(args, { cwd: dir, env: env() });
    await waitFor(() => box.sandbox.stats().fhirReads > 0);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted during the lookup; nothing was sent/);
    expect(r.stderr).not.toMatch(/invalid rows/);
    expect(box.sandbox.letters).toEqual([]);
  });
});
