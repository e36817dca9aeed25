/**
 * The project config file, in process: found from the working folder upward, checked with
 * messages that name the file and the key, secrets refused by key, jobs picked by name, and
 * the precedence flag > job > file defaults > built-in default (map merged field by field).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { applyProjectConfig } from '../src/cli/config.js';
import { addBatchOptions, type BatchCommand } from '../src/cli/shared.js';
import { addWatchOptions } from '../src/cli/watch.js';
import { CONFIG_FILE, findConfigFile, readConfigFile } from '../src/config/find.js';
import { loadProjectConfig } from '../src/config/resolve.js';
import { lineColumn, parseConfig } from '../src/config/schema.js';
import { UsageError } from '../src/errors.js';
import { tempDir } from './support/cli.js';

/** A project folder with a config file holding `config`, and a subfolder `a/b`. */
function project(config: unknown): { root: string; deep: string } {
  const root = tempDir('cl-config-');
  const deep = join(root, 'a', 'b');
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(root, CONFIG_FILE), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return { root, deep };
}

function refusal(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

const parse = (config: unknown) => parseConfig(typeof config === 'string' ? config : JSON.stringify(config, null, 2), CONFIG_FILE);

describe('finding the config file', () => {
  it('finds the config file of a parent folder from a subfolder', () => {
    const { root, deep } = project({});
    expect(findConfigFile(deep)).toBe(join(root, CONFIG_FILE));
  });

  it('takes the nearest config file when folders above have one too', () => {
    const { deep } = project({});
    writeFileSync(join(deep, '..', CONFIG_FILE), '{}');
    expect(findConfigFile(deep)).toBe(join(deep, '..', CONFIG_FILE));
  });

  it('finds nothing up to the filesystem root when no folder has one', () => {
    expect(findConfigFile(tempDir('cl-noconfig-'))).toBeUndefined();
    expect(loadProjectConfig({ cwd: tempDir('cl-noconfig-') })).toBeUndefined();
  });

  it('reads a config file through a symlink, as the CSV and .env are read', () => {
    const { root } = project({ provider: 'p1' });
    const linked = tempDir('cl-linked-');
    symlinkSync(join(root, CONFIG_FILE), join(linked, CONFIG_FILE));
    expect(loadProjectConfig({ cwd: linked })?.options.provider).toBe('p1');
  });

  it('refuses a config file that is a folder, naming it', () => {
    const dir = tempDir('cl-config-');
    mkdirSync(join(dir, CONFIG_FILE));
    expect(refusal(() => readConfigFile(join(dir, CONFIG_FILE), dir)).message).toMatch(/^canvas-letters\.config\.json: is a folder, not a file/);
  });

  it('says where it looked and points to init when --job is given and there is no config file', () => {
    const dir = tempDir('cl-noconfig-');
    const err = refusal(() => loadProjectConfig({ cwd: dir, job: 'jury' }));
    expect(err.message).toContain(`--job jury: no ${CONFIG_FILE} in ${dir} or any folder above it`);
    expect(err.message).toContain('canvas-letters init');
  });
});

describe('checking the config file', () => {
  it('accepts the shape of the shared example', () => {
    const config = parse({
      templatesDir: 'templates',
      provider: '312615f7e9f0be9e83548ccf420c766e',
      location: '9ac29f61-fa25-44f3-b1c2-79f27f4a0f57',
      map: { patientKey: 'Patient ID', firstName: 'First Name' },
      dateInput: 'MM/DD/YYYY',
      jobs: { jury: { template: 'jury-duty', map: { courtName: 'Court' }, concurrency: 4, requireApproval: false } },
      $schema: 'https://example.org/schema.json',
    });
    expect(config.jobs?.jury?.concurrency).toBe(4);
  });

  it('refuses an unknown key, naming the file and its key path and listing the settings', () => {
    expect(refusal(() => parse({ colour: 'red' })).message).toMatch(/^canvas-letters\.config\.json: colour: unknown setting: .*the settings are: \$schema, template, templatesDir/);
    expect(refusal(() => parse({ jobs: { jury: { tempalte: 'x' } } })).message).toMatch(/^canvas-letters\.config\.json: jobs\.jury\.tempalte: unknown setting/);
  });

  it('refuses a wrong type, naming the key path and what is expected', () => {
    expect(refusal(() => parse({ jobs: { jury: { concurrency: '4' } } })).message).toMatch(/^canvas-letters\.config\.json: jobs\.jury\.concurrency: expected a whole number of at least 1/);
    expect(refusal(() => parse({ jobs: { jury: { concurrency: 1.5 } } })).message).toContain('jobs.jury.concurrency: expected a whole number of at least 1');
    expect(refusal(() => parse({ jobs: { jury: { concurrency: 0 } } })).message).toContain('jobs.jury.concurrency: expected a whole number of at least 1');
    expect(refusal(() => parse({ rate: -1 })).message).toContain('rate: expected a number greater than 0');
    expect(refusal(() => parse({ skipInvalid: 'yes' })).message).toContain('skipInvalid: expected true or false');
    expect(refusal(() => parse({ dateInput: 'YYYY/MM/DD' })).message).toContain('dateInput: expected "MM/DD/YYYY" or "DD/MM/YYYY"');
    expect(refusal(() => parse({ map: { patientKey: 7 } })).message).toContain('map.patientKey: expected a non-empty text');
    expect(refusal(() => parse([])).message).toMatch(/^canvas-letters\.config\.json: expected an object of settings/);
  });

  it('refuses a job name that cannot be typed after --job', () => {
    expect(refusal(() => parse({ jobs: { 'jury duty': {} } })).message).toContain('jobs.jury duty: a job name is letters, digits');
  });

  it('names the line and column of a JSON syntax error, without quoting the text', () => {
    const text = '{\n  "provider": "p1"\n  "location": "l1"\n}';
    const err = refusal(() => parse(text));
    expect(err.message).toMatch(/^canvas-letters\.config\.json, line 3, column 3: not valid JSON \(expected ","\)/);
    expect(err.message).not.toContain('l1');
    expect(refusal(() => parse('{ "a": 1, }')).message).toMatch(/line 1, column 11/);
    expect(refusal(() => parse('// note\n{}')).message).toMatch(/line 1, column 1: not valid JSON \(JSON has no comments\)/);
    expect(refusal(() => parse('')).message).toMatch(/line 1, column 1: not valid JSON/);
  });

  it('counts lines and columns from a character offset', () => {
    expect(lineColumn('ab\ncd\r\nef', 8)).toEqual({ line: 3, column: 2 });
    expect(lineColumn('abc', 0)).toEqual({ line: 1, column: 1 });
  });

  it('refuses a key that names a secret anywhere in the file, naming the key, before the unknown-key check', () => {
    expect(refusal(() => parse({ jobs: { jury: { clientSecret: 'x' } } })).message).toBe(
      'canvas-letters.config.json: jobs.jury.clientSecret: secrets are never read from the config file; put CANVAS_CLIENT_SECRET in the environment or .env',
    );
    expect(refusal(() => parse({ accessToken: 'x' })).message).toContain('accessToken: secrets are never read from the config file; put CANVAS_ACCESS_TOKEN');
    for (const key of ['PASSWORD', 'proxyPasswd', 'credentials', 'apiKey', 'api_key']) {
      expect(refusal(() => parse({ map: { [key]: 'x' } })).message).toContain(`map.${key}: secrets are never read`);
    }
  });

  it('never repeats the value of a secret key', () => {
    expect(refusal(() => parse({ token: 'abc-very-secret-123' })).message).not.toContain('abc-very-secret-123');
  });

  it('refuses an unknown job, listing the jobs of the file', () => {
    const { deep } = project({ jobs: { jury: {}, school: {} } });
    expect(refusal(() => loadProjectConfig({ cwd: deep, job: 'jurry' })).message).toBe(
      '--job jurry: ../../canvas-letters.config.json has no such job: its jobs are: jury, school',
    );
  });
});

describe('the settings of a job', () => {
  it('takes the job over the file defaults, merging map field by field', () => {
    const { deep } = project({ provider: 'p-file', concurrency: 2, map: { patientKey: 'Patient ID', firstName: 'First' }, jobs: { jury: { provider: 'p-job', map: { firstName: 'Given Name' } } } });
    const config = loadProjectConfig({ cwd: deep, job: 'jury' })!;
    expect(config.options).toMatchObject({ provider: 'p-job', concurrency: 2, map: { patientKey: 'Patient ID', firstName: 'Given Name' } });
    expect(config.used.job).toBe('jury');
  });

  it('resolves relative templatesDir, out and ledger against the config file folder, not the working folder', () => {
    const { root, deep } = project({ templatesDir: 'templates', ledger: '/abs/ledger.db', jobs: { jury: { out: '../reports/jury' } } });
    const { options } = loadProjectConfig({ cwd: deep, job: 'jury' })!;
    expect(options).toMatchObject({ templatesDir: join(root, 'templates'), out: join(root, '..', 'reports', 'jury'), ledger: '/abs/ledger.db' });
  });

  it('names where requireApproval is set: the job over the file', () => {
    const { deep } = project({ requireApproval: true, jobs: { open: { requireApproval: false }, jury: {} } });
    expect(loadProjectConfig({ cwd: deep, job: 'open' })!.approvalKey).toBeUndefined();
    expect(loadProjectConfig({ cwd: deep, job: 'jury' })!.approvalKey).toBe('requireApproval');
  });
});

/** A parsed batch command, as commander leaves it before the action runs. */
function parsed(argv: string[], add: (cmd: Command, command: BatchCommand) => Command = addBatchOptions, name: BatchCommand = 'preview'): Command {
  const program = new Command('canvas-letters').exitOverride();
  const cmd = add(program.command(name).argument('<csv>'), name).exitOverride();
  cmd.action(() => undefined);
  program.parse(['node', 'cli', name, 'x.csv', ...argv]);
  return cmd;
}

describe('options from the config file on the command line', () => {
  const config = {
    templatesDir: 'tpl',
    provider: 'p-file',
    concurrency: 2,
    timeout: 10,
    map: { patientKey: 'Patient ID', firstName: 'First' },
    jobs: { jury: { template: 'jury-duty', provider: 'p-job', map: { firstName: 'Given Name', courtName: 'Court' } } },
  };

  it('a flag wins over the job, the job over the file, the file over the built-in default', async () => {
    const { root, deep } = project(config);
    const cmd = parsed(['--job', 'jury', '--provider', 'p-flag', '-c', '8']);
    const applied = await applyProjectConfig(cmd, { cwd: deep });
    expect(cmd.opts()).toMatchObject({ provider: 'p-flag', concurrency: 8, template: 'jury-duty', timeout: 10, templatesDir: join(root, 'tpl') });
    expect(cmd.getOptionValueSource('template')).toBe('config');
    expect(applied?.used).toEqual({ file: join(root, CONFIG_FILE), job: 'jury' });
  });

  it('keeps the built-in default of a setting neither the file nor the job has', async () => {
    const { deep } = project({});
    const cmd = parsed([]);
    await applyProjectConfig(cmd, { cwd: deep });
    expect(cmd.opts()).toMatchObject({ concurrency: 4, timeout: 30, templatesDir: './templates' });
  });

  it('merges map per field: the file, then the job, then --map flags', async () => {
    const { deep } = project(config);
    const cmd = parsed(['--job', 'jury', '--map', 'courtName=Court Name']);
    await applyProjectConfig(cmd, { cwd: deep });
    expect(cmd.opts().map).toEqual(['patientKey=Patient ID', 'firstName=Given Name', 'courtName=Court Name']);
  });

  it('takes the file defaults without --job', async () => {
    const { deep } = project(config);
    const cmd = parsed([]);
    const applied = await applyProjectConfig(cmd, { cwd: deep });
    expect(cmd.opts()).toMatchObject({ provider: 'p-file', map: ['patientKey=Patient ID', 'firstName=First'] });
    expect(cmd.opts().template).toBeUndefined();
    expect(applied?.used.job).toBeUndefined();
  });

  it('ignores settings the command does not have, and keeps the ledger out of the option values', async () => {
    const { root, deep } = project({ files: false, interval: 3, ledger: 'state/ledger.db' });
    const cmd = parsed([], addBatchOptions, 'send');
    const applied = await applyProjectConfig(cmd, { cwd: deep });
    expect(cmd.opts()).not.toHaveProperty('files');
    expect(cmd.opts()).not.toHaveProperty('interval');
    expect(cmd.opts().ledger).toBeUndefined();
    expect(applied?.ledger).toBe(join(root, 'state', 'ledger.db'));
  });

  it('takes only the settings asked for', async () => {
    const { root, deep } = project(config);
    const cmd = parsed([]);
    await applyProjectConfig(cmd, { cwd: deep, only: ['templatesDir'] });
    expect(cmd.opts()).toMatchObject({ templatesDir: join(root, 'tpl'), concurrency: 4 });
    expect(cmd.opts().provider).toBeUndefined();
  });

  it('send refuses a job that requires approval without --approved, naming the setting and the commands; watch refuses it; preview and send --approved take it', async () => {
    const { deep } = project({ jobs: { jury: { template: 'jury-duty', requireApproval: true } } });
    const plain = applyProjectConfig(parsed(['--job', 'jury'], addBatchOptions, 'send'), { cwd: deep });
    await expect(plain).rejects.toThrow(/^job jury requires approval \(\.\.\/\.\.\/canvas-letters\.config\.json: jobs\.jury\.requireApproval is true\).*nothing was sent/);
    await expect(plain).rejects.toThrow(/canvas-letters approve <out> --by <name>, then canvas-letters send --approved <out> --job jury/);
    const watch = applyProjectConfig(parsed(['--job', 'jury'], addWatchOptions, 'watch'), { cwd: deep });
    await expect(watch).rejects.toThrow(/^watch cannot send jobs that require approval .*never an approved preview/);
    await expect(applyProjectConfig(parsed(['--job', 'jury']), { cwd: deep })).resolves.toBeDefined();
    const approved = parsed(['--job', 'jury', '--approved', 'out'], addBatchOptions, 'send');
    await expect(applyProjectConfig(approved, { cwd: deep })).resolves.toBeDefined();
  });
});
