/**
 * End-to-end: keys and ledgers (issue 11, sections 5 and 6), through the built CLI against
 * sandboxes on port 0. Each test gets its own state folder (XDG_STATE_HOME), so the default
 * ledger (one per Canvas instance) never touches the real ~/.local/state.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { trackedSandboxes, useSandbox } from './support/sandbox.js';
import { ROOT, runCli, runCliAsync, tempDir } from './support/cli.js';
import { juryCsv, type JuryColumn } from './support/rows.js';

const box = useSandbox();
const startSandbox = trackedSandboxes();
let dir: string;
let state: string;
beforeEach(() => {
  dir = tempDir('cl-ledger-e2e-');
  state = join(dir, 'state');
});

/** n jury-duty rows with distinct patients (the address unquoted: "Main St"); `drop` removes a column from the file. */
function writeCsv(folder: string, name: string, n: number, drop?: JuryColumn): string {
  mkdirSync(folder, { recursive: true });
  const file = join(folder, name);
  writeFileSync(file, juryCsv(n, { fields: () => ({ practiceAddress: 'Main St' }), drop }));
  return file;
}

const common = ['-t', 'jury-duty', '--templates-dir', join(ROOT, 'templates')];

/** `send` from `cwd`, with no --ledger unless given, the state folder of this test, and `env` over the sandbox's. */
function send(cwd: string, csv: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  mkdirSync(cwd, { recursive: true });
  return runCliAsync(['send', csv, ...common, '-o', join(cwd, `out-${Date.now()}-${Math.random()}`), '--yes', ...extra], {
    cwd,
    env: box.env({ XDG_STATE_HOME: state, ...env }),
  });
}

function instanceLedger(url: string): string {
  const u = new URL(url);
  return join(state, 'canvas-letters', `${u.hostname}_${u.port}`, 'ledger.db');
}

describe('a key field that nothing gives refuses the whole file', () => {
  it('preview exits 2 with one line saying what to do, and renders nothing', () => {
    const csv = writeCsv(dir, 'in.csv', 3, 'patientKey');
    const r = runCli(['preview', csv, ...common, '-o', join(dir, 'out')], { cwd: dir, env: { XDG_STATE_HOME: state } });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/in\.csv: line 1: no column gives patientKey .*nothing was rendered or sent: add a patientKey column, or use --map patientKey=<column>/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('send exits 2 and sends nothing, asking for no token', async () => {
    const csv = writeCsv(dir, 'in.csv', 3, 'practiceLocationKey');
    const r = await send(dir, csv, ['--ledger', join(dir, 'l.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no column gives practiceLocationKey.*--location <key>/);
    expect(box.sandbox.stats().letterRequests).toBe(0);
    expect(box.sandbox.stats().tokenRequests).toBe(0);
  });

  it('watch refuses the file (failed/, with the reason) and sends nothing', async () => {
    const inbox = join(dir, 'inbox');
    writeCsv(inbox, 'in.csv', 3, 'patientKey');
    const t = Date.now() / 1000 - 60;
    utimesSync(join(inbox, 'in.csv'), t, t);
    const r = await runCliAsync(['watch', inbox, ...common, '--ledger', join(dir, 'l.db'), '--once'], { cwd: dir, env: box.env({ XDG_STATE_HOME: state }) });
    expect(r.stderr).toMatch(/in\.csv: .*no column gives patientKey/);
    expect(readdirSync(join(inbox, 'failed'))).toContain('in.csv');
    expect(readFileSync(join(inbox, 'failed', 'in.csv.errors.txt'), 'utf8')).toMatch(/no column gives patientKey/);
    expect(box.sandbox.stats().letterRequests).toBe(0);
  });
});

describe('the default ledger: one per Canvas instance', () => {
  it('is found again from another working folder, so nothing is sent twice; a new ledger is announced once', async () => {
    const first = await send(join(dir, 'a'), writeCsv(join(dir, 'a'), 'in.csv', 3));
    expect(first.code).toBe(0);
    const file = instanceLedger(box.sandbox.url);
    expect(first.stderr).toContain(`new ledger: ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = await send(join(dir, 'b'), writeCsv(join(dir, 'b'), 'in.csv', 3));
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/3 skipped/);
    expect(second.stderr).not.toContain('new ledger');
    expect(box.sandbox.letters).toHaveLength(3);
    expect(existsSync(join(dir, 'a', '.canvas-letters'))).toBe(false);
  });

  it('a sandbox trial then a run against another instance from the same folder sends to the second one', async () => {
    const other = await startSandbox({ port: 0, retryAfter: '0' });
    const folder = join(dir, 'work');
    const csv = writeCsv(folder, 'in.csv', 2);
    expect((await send(folder, csv)).code).toBe(0);
    const real = await send(folder, csv, [], { CANVAS_BASE_URL: other.url });
    expect(real.code).toBe(0);
    expect(real.stderr).toContain(`new ledger: ${instanceLedger(other.url)}`);
    expect(box.sandbox.letters).toHaveLength(2);
    expect(other.letters).toHaveLength(2);
  });

  it('a ledger named for one instance is refused for another (exit 2, both named, nothing sent)', async () => {
    const other = await startSandbox({ port: 0, retryAfter: '0' });
    const ledger = join(dir, 'shared.db');
    const csv = writeCsv(dir, 'in.csv', 2);
    expect((await send(dir, csv, ['--ledger', ledger])).code).toBe(0);
    const r = await send(dir, csv, [], { CANVAS_LETTERS_LEDGER: ledger, CANVAS_BASE_URL: other.url });
    expect(r.code).toBe(2);
    const origin = (url: string) => new URL(url).origin;
    expect(r.stderr).toContain(`is the ledger of ${origin(box.sandbox.url)}, not of ${origin(other.url)}`);
    expect(other.stats().letterRequests).toBe(0);
    expect(other.stats().tokenRequests).toBe(0);
  });

  it('an existing ./.canvas-letters/ledger.db (the old default) is still used, with a warning saying how to move it', async () => {
    const csv = writeCsv(dir, 'in.csv', 2);
    expect((await send(dir, csv, ['--ledger', join(dir, '.canvas-letters', 'ledger.db')])).code).toBe(0);
    const r = await send(dir, csv);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/2 skipped/);
    expect(r.stderr).toMatch(/warning: using .*\.canvas-letters\/ledger\.db, the old default ledger .*mv .*ledger\.db\* .*canvas-letters\/127\.0\.0\.1_\d+\/\).*CANVAS_LETTERS_LEDGER/);
    expect(box.sandbox.letters).toHaveLength(2);
    expect(existsSync(instanceLedger(box.sandbox.url))).toBe(false);
  });

  it('without --ledger, CANVAS_LETTERS_LEDGER or CANVAS_BASE_URL, send says the base URL is needed to find the ledger (exit 2)', async () => {
    const r = await send(dir, writeCsv(dir, 'in.csv', 1), [], { CANVAS_BASE_URL: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CANVAS_BASE_URL is not set, and it names the Canvas instance whose ledger/);
    expect(box.sandbox.stats().tokenRequests).toBe(0);
  });

  it('--help says the new default', () => {
    const r = runCli(['send', '--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain("$CANVAS_LETTERS_LEDGER, else the config file's ledger, else one per Canvas instance: <state>/canvas-letters/<host>[_<port>]/ledger.db");
  });
});

describe('a damaged ledger', () => {
  it('truncated inside its last page is refused before anything is sent, naming the file once', async () => {
    const ledger = join(dir, 'l.db');
    expect((await send(dir, writeCsv(dir, 'big.csv', 400), ['--ledger', ledger, '-c', '8'])).code).toBe(0);
    expect(existsSync(`${ledger}-wal`)).toBe(false);
    const size = statSync(ledger).size;
    expect(size).toBeGreaterThan(4 * 4096);
    truncateSync(ledger, size - 1500);
    const before = box.sandbox.stats();
    const r = await send(dir, join(dir, 'big.csv'), ['--ledger', ledger]);
    expect(r.code).toBe(2);
    // Where the cut lands decides which check finds it first (its pages hold random ids and times).
    expect(r.stderr).toMatch(/(is damaged: the integrity check found .*|is not a readable canvas-letters ledger .*)restore it from a backup/);
    expect(r.stderr.split(ledger).length - 1).toBe(1);
    expect(r.stderr).not.toMatch(/unexpected error|ledger: ledger:/);
    expect(box.sandbox.stats().letterRequests).toBe(before.letterRequests);
    expect(box.sandbox.stats().tokenRequests).toBe(before.tokenRequests);
  });
});
