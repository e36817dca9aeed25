/**
 * End-to-end: the project config file through the built CLI. A job run from a subfolder finds
 * the parent's config file and takes its template, map, provider and templates folder; flags
 * win; a secret in the file stops everything; the report names the file and job; the ledger is
 * chosen --ledger, then $CANVAS_LETTERS_LEDGER, then the file's `ledger` (send to the sandbox).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from './support/sandbox.js';
import { ROOT, runCli, runCliAsync, tempDir } from './support/cli.js';

const box = useSandbox();
const PROVIDER = '312615f7e9f0be9e83548ccf420c766e';
const LOCATION = '9ac29f61-fa25-44f3-b1c2-79f27f4a0f57';
const OTHER_PROVIDER = 'aa11bb22cc33dd44ee55ff6677889900';

let root: string;
let sub: string;
beforeEach(() => {
  root = tempDir('cl-config-e2e-');
  sub = join(root, 'batches', 'december');
  mkdirSync(sub, { recursive: true });
  cpSync(join(ROOT, 'templates'), join(root, 'letter-templates'), { recursive: true });
  // A practice export: its own column names, no provider or location columns.
  const header = 'Patient ID,patientName,dateOfBirth,summonsDate,excuseUntil,practiceName,practiceAddress,practicePhone,providerName,providerCredentials';
  const rows = ['86b2adc6ddb9b219ddc2c9e73074efba', 'cf4f53185e0d65b8722631bc7b9405c5'].map(
    (key, i) => `${key},Person ${i},1970-01-0${i + 1},2026-12-14,2027-03-31,Maple Grove,"1 Main St, Springfield",(541) 555-0142,Dr. V,MD`,
  );
  writeFileSync(join(sub, 'export.csv'), [header, ...rows].join('\n') + '\n');
});

function writeConfig(config: unknown): string {
  const file = join(root, 'canvas-letters.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

const jury = (more: Record<string, unknown> = {}) => ({
  templatesDir: 'letter-templates',
  location: LOCATION,
  map: { patientKey: 'Patient ID' },
  jobs: { jury: { template: 'jury-duty', provider: PROVIDER, ...more } },
});

const reportJson = (out: string) => JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));

describe('the config file', () => {
  it('preview --job in a subfolder finds the parent config file and uses its template, map, provider and templates folder', () => {
    const file = writeConfig(jury());
    const r = runCli(['preview', 'export.csv', '--job', 'jury', '-o', 'out'], { cwd: sub });
    expect(r.stderr).toContain('2 previewed');
    expect(r.code).toBe(0);
    const report = reportJson(join(sub, 'out'));
    expect(report.rows.map((row: { template: string; patientKey: string; providerKey: string; practiceLocationKey: string }) => [row.template, row.providerKey, row.practiceLocationKey])).toEqual([
      ['jury-duty', PROVIDER, LOCATION],
      ['jury-duty', PROVIDER, LOCATION],
    ]);
    expect(report.rows[0].patientKey).toBe('86b2adc6ddb9b219ddc2c9e73074efba');
    expect(report.summary.config).toEqual({ file, job: 'jury' });
    expect(r.stderr).toContain(`config: ${file} (job jury)`);
    expect(readFileSync(join(sub, 'out', 'report.csv'), 'utf8')).not.toContain('canvas-letters.config.json');
  });

  it('a flag wins over the job', () => {
    writeConfig(jury());
    const r = runCli(['preview', 'export.csv', '--job', 'jury', '--provider', OTHER_PROVIDER, '-o', 'out', '--json'], { cwd: sub });
    expect(r.code).toBe(0);
    expect(reportJson(join(sub, 'out')).rows.map((row: { providerKey: string }) => row.providerKey)).toEqual([OTHER_PROVIDER, OTHER_PROVIDER]);
    expect(JSON.parse(r.stdout).config.job).toBe('jury');
  });

  it('a secret in the file exits 2 naming the key, and writes nothing', () => {
    writeConfig(jury({ clientSecret: 'do-not-print-me' }));
    const r = runCli(['preview', 'export.csv', '--job', 'jury', '-o', 'out'], { cwd: sub });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('jobs.jury.clientSecret: secrets are never read from the config file; put CANVAS_CLIENT_SECRET in the environment or .env');
    expect(r.stderr + r.stdout).not.toContain('do-not-print-me');
    expect(existsSync(join(sub, 'out'))).toBe(false);
  });

  it('an unknown job exits 2 listing the jobs of the file', () => {
    writeConfig(jury());
    const r = runCli(['preview', 'export.csv', '--job', 'jurry'], { cwd: sub });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--job jurry: ../../canvas-letters.config.json has no such job: its jobs are: jury');
  });

  it('templates lists the templates folder the config file names', () => {
    writeConfig(jury());
    const r = runCli(['templates', '--json'], { cwd: sub });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((t: { name: string }) => t.name)).toContain('jury-duty');
  });
});

describe('the config file with send', () => {
  const send = (extra: string[], env: NodeJS.ProcessEnv = {}) =>
    runCliAsync(['send', 'export.csv', '--job', 'jury', '--yes', '-o', `out-${Math.random()}`, ...extra], { cwd: sub, env: box.env(env) });

  it('takes the ledger from --ledger, then CANVAS_LETTERS_LEDGER, then the config file (relative to its folder)', async () => {
    writeConfig(jury({ ledger: 'state/ledger.db' }));
    const fromConfig = join(root, 'state', 'ledger.db');
    const fromEnv = join(root, 'env.db');
    const fromFlag = join(root, 'flag.db');

    const first = await send([]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`new ledger: ${fromConfig}`);
    expect(box.sandbox.letters).toHaveLength(2);

    const second = await send([], { CANVAS_LETTERS_LEDGER: fromEnv });
    expect(second.stderr).toContain(`new ledger: ${fromEnv}`);

    const third = await send(['--ledger', fromFlag], { CANVAS_LETTERS_LEDGER: fromEnv });
    expect(third.stderr).toContain(`new ledger: ${fromFlag}`);
    expect(box.sandbox.letters).toHaveLength(6); // each run had a new ledger, so each sent both letters

    // The config file's ledger still knows its letters: sent once, skipped now.
    const again = await send([]);
    expect(again.stderr).toContain('2 skipped');
    expect(box.sandbox.letters).toHaveLength(6);
  });

  it('a config file\'s "yes" confirms a plain send but not --resend-changed: without a terminal that needs --yes on the command line', async () => {
    writeConfig(jury({ yes: true, ledger: 'state/ledger.db' }));
    const run = (extra: string[]) => runCliAsync(['send', 'export.csv', '--job', 'jury', '-o', `out-${Math.random()}`, ...extra], { cwd: sub, env: box.env() });
    const first = await run([]);
    expect(first.code, first.stderr).toBe(0);
    const template = join(root, 'letter-templates', 'jury-duty.hbs');
    writeFileSync(template, readFileSync(template, 'utf8').replace('{{today}}</p>', '{{today}}</p>\n<p>Corrected.</p>'));
    const refused = await run(['--resend-changed']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('send --resend-changed needs --yes on the command line');
    expect(box.sandbox.letters).toHaveLength(2);
    const confirmed = await run(['--resend-changed', '--yes']);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(box.sandbox.letters).toHaveLength(4);
  });

  it('a job that requires approval refuses a plain send, naming the setting and the commands to run, and sends nothing', async () => {
    writeConfig(jury({ requireApproval: true }));
    const r = await send(['--ledger', join(root, 'ledger.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('job jury requires approval (../../canvas-letters.config.json: jobs.jury.requireApproval is true)');
    expect(r.stderr).toContain('canvas-letters preview <csv> --job jury');
    expect(r.stderr).toContain('canvas-letters approve <out> --by <name>');
    expect(r.stderr).toContain('canvas-letters send --approved <out> --job jury');
    expect(box.sandbox.letters).toHaveLength(0);
    expect(existsSync(join(root, 'ledger.db'))).toBe(false);
  });

  it('a job that requires approval sends its approved preview: preview, approve, then send --approved with the job', async () => {
    writeConfig(jury({ requireApproval: true, ledger: 'state/ledger.db' }));
    expect(runCli(['preview', 'export.csv', '--job', 'jury', '-o', 'review'], { cwd: sub }).code).toBe(0);
    expect(runCli(['approve', 'review', '--by', 'Dr. V', '--yes'], { cwd: sub }).code).toBe(0);
    const r = await runCliAsync(['send', '--approved', 'review', '--job', 'jury', '--yes', '-o', 'sent'], { cwd: sub, env: box.env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('2 sent');
    expect(reportJson(join(sub, 'sent')).summary).toMatchObject({ config: { job: 'jury' }, approval: { approver: 'Dr. V' } });
    expect(box.sandbox.letters).toHaveLength(2);
  });
});
