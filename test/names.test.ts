/**
 * Names from outside (CSV columns, --map fields, template field names, lookup fields) are
 * looked up as own names only: an inherited name (`constructor`, `toString`, `__proto__`,
 * `hasOwnProperty`) is never "present", and a column with such a name is an ordinary column.
 * Every outside name that reaches a message is shown escaped, so no output line can be forged.
 * Header checks are linear in the number of columns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCsv } from '../src/input/csv.js';
import { CsvError, TemplateError, UsageError } from '../src/errors.js';
import { letterKey } from '../src/plan/letter-key.js';
import { RowMapper, parseMapOptions } from '../src/input/mapping.js';
import { formatProblem, type Keys } from '../src/types.js';
import { validateBatch, type LookupSource } from '../src/plan/validate.js';
import { runCli, tempDir, writeTree } from './support/cli.js';

const INHERITED = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
const KEYS_HEADER = 'patientKey,providerKey,practiceLocationKey';
const KEYS_ROW = 'p1,pr1,l1';

function setup(files: Record<string, string>): string {
  return writeTree(tempDir('cl-names-'), files);
}

describe('inherited names are never present', () => {
  it('RowMapper provides no inherited name, and gives no value for it', () => {
    const m = new RowMapper(['patientKey', 'providerKey', 'practiceLocationKey']);
    const data = m.data({ row: 1, values: ['p1', 'pr1', 'l1'] });
    for (const name of INHERITED) {
      expect(m.provides(name), name).toBe(false);
      expect(m.columnOf(name), name).toBeUndefined();
      expect(m.value({ row: 1, values: ['p1', 'pr1', 'l1'] }, name), name).toBe('');
      expect(Object.hasOwn(data, name), name).toBe(false);
      expect((data as Record<string, unknown>)[name], name).toBeUndefined();
    }
  });

  it('a template using {{constructor}}, {{toString}}, {{__proto__}}, {{hasOwnProperty}} without such columns reports them missing, like any column', async () => {
    const dir = setup({
      't/a.hbs': '<p>{{constructor}} {{toString}} {{__proto__}} {{hasOwnProperty}}</p>',
      'in.csv': `${KEYS_HEADER},name\n${KEYS_ROW},Bob\n`,
    });
    const plan = await validateBatch({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 't'), template: 'a' });
    expect(plan.invalid).toBe(1);
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(plan.problems.some((p) => p.includes(`column ${name}: missing`)), name).toBe(true);
    }
  });

  it('a lookup merge does not make inherited names present', async () => {
    const dir = setup({ 't/a.hbs': '<p>{{patient.fullName}} {{toString}}</p>', 'in.csv': `${KEYS_HEADER}\n${KEYS_ROW}\n` });
    const lookup: LookupSource = {
      fields: ['patient.fullName'],
      load: async () => {},
      fieldsFor: (_keys: Keys) => ({ 'patient.fullName': 'Ann Lee' }),
      problemsFor: () => [],
    };
    const plan = await validateBatch({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 't'), template: 'a', lookup });
    expect(plan.problems.some((p) => p.includes('column toString: missing'))).toBe(true);
    const data = plan.data({ row: 1, values: ['p1', 'pr1', 'l1'] });
    expect(data['patient.fullName']).toBe('Ann Lee');
    expect(Object.hasOwn(data, 'toString')).toBe(false);
    expect(Object.getPrototypeOf(data)).toBeNull();
  });

  it('the letter key counts an inherited name as empty, never as Object.prototype’s value', () => {
    const keys: Keys = { patientKey: 'p1', providerKey: 'pr1', practiceLocationKey: 'l1' };
    const plain = letterKey('a', keys, ['constructor', 'toString'], {});
    expect(plain).toBe(letterKey('a', keys, ['constructor', 'toString'], Object.assign(Object.create(null), { constructor: '', toString: '' })));
  });
});

describe('columns named like inherited properties are ordinary columns', () => {
  it('a __proto__ or constructor column reaches the template data, the letter key and the rendered letter', async () => {
    const dir = setup({
      't/a.hbs': '<p>{{constructor}}|{{__proto__}}|{{toString}}</p>',
      'in.csv': `${KEYS_HEADER},constructor,__proto__,toString\n${KEYS_ROW},Bob,Al,Cy\n${KEYS_ROW},Bob,Zed,Cy\n`,
    });
    const plan = await validateBatch({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 't'), template: 'a' });
    expect(plan.problems).toEqual([]);
    expect(plan.ready).toBe(2); // the rows differ only in __proto__: two letters, not a duplicate
    expect(plan.letterKeyOf(1)).not.toBe(plan.letterKeyOf(2));
    const data = plan.data({ row: 1, values: ['p1', 'pr1', 'l1', 'Bob', 'Al', 'Cy'] });
    expect(Object.getPrototypeOf(data)).toBeNull();
    expect(Object.hasOwn(data, '__proto__')).toBe(true);
    expect(data['__proto__']).toBe('Al');
    expect(data['constructor']).toBe('Bob');
    expect(plan.templates.get('a').render(data)).toContain('<p>Bob|Al|Cy</p>');
  });

  it('--map can name a field __proto__ or constructor, and map to such a column', () => {
    const map = parseMapOptions(['__proto__=constructor', 'constructor=name']);
    expect(Object.keys(map)).toEqual(['__proto__', 'constructor']);
    const m = new RowMapper(['constructor', 'name'], { map });
    const data = m.data({ row: 1, values: ['x', 'y'] });
    expect(data['__proto__']).toBe('x');
    expect(data['constructor']).toBe('y');
    expect(m.provides('__proto__')).toBe(true);
  });
});

describe('outside names in messages are shown escaped', () => {
  it('a template cell with a newline is one escaped line in the problem and the report note', async () => {
    const dir = setup({ 't/a.hbs': '<p>hi</p>', 'in.csv': `${KEYS_HEADER},template\n${KEYS_ROW},"a\nwarning: forged"\n` });
    const plan = await validateBatch({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 't') });
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]).toContain('no template named "a\\nwarning: forged"');
    expect(plan.problems[0]).not.toContain('\n');
    expect(plan.noteOf(1)).not.toContain('\n');
  });

  it('problems, CSV errors, template errors and --map errors escape the names they repeat', () => {
    expect(formatProblem({ row: 3, column: 'a\nwarning: x', message: 'empty' })).toBe('row 3, column a\\nwarning: x: empty');
    expect(new CsvError({ file: 'in\n.csv', column: 'c\u001b[31m' }, 'bad').message).toBe('in\\n.csv: column c\\x1b[31m: bad');
    expect(new TemplateError({ file: 't/\u2028a.hbs', line: 2 }, 'bad').message).toBe('t/\\u2028a.hbs, line 2: bad');
    const err = (() => {
      try {
        new RowMapper(['a\rb'], { map: { patientKey: 'x\ny' } }, 'f\n.csv');
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect(err!.message).not.toMatch(/[\n\r]/);
    expect(err!.message).toContain('x\\ny');
    expect(err!.message).toContain('a\\rb');
  });

  it('a header warning and a duplicate-header error escape the column name', async () => {
    const dir = setup({ 'w.csv': `" a\u001bb ",c\n1,2\n`, 'd.csv': `"x\ny",q,"x\ny"\n1,2,3\n` });
    const w = await openCsv(join(dir, 'w.csv'));
    expect(w.warnings[0]).toContain('column "a\\x1bb"');
    await expect(openCsv(join(dir, 'd.csv'))).rejects.toThrow(/column x\\ny: is in the header twice \(columns 1 and 3\)/);
  });
});

describe('header checks are linear in the number of columns', () => {
  const WIDTH = 100_000;
  const names = ['patientKey', 'providerKey', 'practiceLocationKey', ...Array.from({ length: WIDTH - 3 }, (_, i) => `col${i + 3}`)];

  it('a header of 100,000 columns and one data row validates in well under a second', async () => {
    const dir = setup({
      't/a.hbs': `<p>{{col${WIDTH - 1}}}</p>`,
      'wide.csv': `${names.join(',')}\n${names.map((_, i) => (i < 3 ? `k${i}` : 'v')).join(',')}\n`,
    });
    await validateBatch({ csv: join(dir, 'wide.csv'), templatesDir: join(dir, 't'), template: 'a' }); // warm-up
    const started = performance.now();
    const plan = await validateBatch({ csv: join(dir, 'wide.csv'), templatesDir: join(dir, 't'), template: 'a' });
    const elapsed = performance.now() - started;
    expect(plan.ready).toBe(1);
    expect(elapsed).toBeLessThan(1000);
  });

  it('a duplicate at the end of a 100,000-column header is still found, naming both columns', async () => {
    const dir = setup({ 'dup.csv': `${[...names, 'col7'].join(',')}\n${[...names, 'x'].map(() => 'v').join(',')}\n` });
    await expect(openCsv(join(dir, 'dup.csv'))).rejects.toThrow(`column col7: is in the header twice (columns 8 and ${WIDTH + 1})`);
  });
});

describe('the CLI with outside names (end to end)', () => {
  it('reports {{constructor}} missing (exit 2), renders a __proto__ column, and never prints a forged warning line', () => {
    const dir = setup({
      'tpl/ctor.hbs': '<p>{{constructor}}</p>',
      'tpl/proto.hbs': '<p>Dear {{__proto__}}</p>',
      'a.csv': `${KEYS_HEADER},name\n${KEYS_ROW},Bob\n`,
      'b.csv': `${KEYS_HEADER},__proto__\n${KEYS_ROW},Ann\n`,
      'c.csv': `${KEYS_HEADER},template\n${KEYS_ROW},"proto\nwarning: forged"\n`,
    });
    const ledger = join(dir, 'ledger.db');
    const missing = runCli(['preview', 'a.csv', '-t', 'ctor', '--templates-dir', 'tpl', '-o', 'out-a', '--ledger', ledger], { cwd: dir });
    expect(missing.stderr).not.toContain('unexpected error');
    expect(missing.stderr).toContain('column constructor: missing');
    expect(missing.code).toBe(2);

    const proto = runCli(['preview', 'b.csv', '-t', 'proto', '--templates-dir', 'tpl', '-o', 'out-b', '--ledger', ledger], { cwd: dir });
    expect(proto.stderr).toContain('1 previewed');
    expect(proto.code).toBe(0);
    expect(readFileSync(join(dir, 'out-b', 'letters', 'row-00001.html'), 'utf8')).toContain('Dear Ann');

    const forged = runCli(['preview', 'c.csv', '--templates-dir', 'tpl', '-o', 'out-c', '--ledger', ledger], { cwd: dir });
    expect(forged.code).toBe(2);
    expect(forged.stderr).toContain('no template named "proto\\nwarning: forged"');
    expect(forged.stderr.split('\n').some((line) => line.startsWith('warning: forged'))).toBe(false);
  });
});
