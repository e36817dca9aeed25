/**
 * Messages that say what to do next (in process): the same problem on many rows grouped into one
 * line, key columns that hold names, `{{First Name}}` read as a helper, helper errors that name
 * the column, and day-first dates (`input=`, the file-wide dateInput, letter keys unchanged).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateError, UsageError } from '../src/errors.js';
import { parseDateInput } from '../src/input/mapping.js';
import { ProblemCollector, formatGroup, looksLikeName } from '../src/plan/problems.js';
import { validateBatch, type ValidateOptions } from '../src/plan/validate.js';
import { formatDateValue, HelperError, parseCalendarDate } from '../src/templates/dates.js';
import { TemplateSet } from '../src/templates/index.js';
import { tempDir, writeTree } from './support/cli.js';

const P = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const PROV = 'aa11bb22cc33dd44ee55ff6677889900';
const LOC = '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';
const KEYS = 'patientKey,providerKey,practiceLocationKey';

/** A folder with templates under t/ and in.csv; validate it. */
async function validate(files: Record<string, string>, opts: Partial<ValidateOptions> = {}) {
  const dir = writeTree(tempDir('cl-msg-'), files);
  return validateBatch({ csv: join(dir, 'in.csv'), templatesDir: join(dir, 't'), ...opts });
}

function rows(n: number, row: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => row(i)).join('\n') + '\n';
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('grouping problems', () => {
  it('one problem on one row keeps the row form; on many rows it is one line with a count and the first five rows', () => {
    const c = new ProblemCollector();
    for (const row of [3, 4, 9, 10, 11, 12, 20]) c.add({ row, column: 'patientKey', message: 'malformed key', hint: 'letters, digits and - only, at most 64 characters' });
    c.add({ row: 7, column: 'name', message: 'empty' });
    expect(c.lines(30)).toEqual([
      'column patientKey: malformed key in 7 rows (rows 3, 4, 9, 10, 11, …): letters, digits and - only, at most 64 characters',
      'row 7, column name: empty',
    ]);
    expect(c.list()[0]).toEqual({ column: 'patientKey', message: 'malformed key', hint: 'letters, digits and - only, at most 64 characters', count: 7, rows: [3, 4, 9, 10, 11] });
  });

  it('says "in all N rows" without listing them when every row has the problem', () => {
    expect(formatGroup({ column: 'template', message: 'empty', hint: 'give -t <name> or add a template column', count: 300, rows: [1, 2, 3, 4, 5] }, 300))
      .toBe('column template: empty in all 300 rows: give -t <name> or add a template column');
  });

  it('a file with no template column and no --template gives one line for its 300 rows, and every row keeps its own note', async () => {
    const plan = await validate({ 't/a.hbs': '<p>{{name}}</p>', 'in.csv': `${KEYS},name\n${rows(300, () => `${P},${PROV},${LOC},Ann`)}` });
    expect(plan.invalid).toBe(300);
    expect(plan.problems).toEqual(['column template: empty in all 300 rows: give -t <name> or add a template column']);
    expect(plan.noteOf(1)).toBe('column template: empty (give -t <name> or add a template column)');
    expect(plan.noteOf(300)).toBe(plan.noteOf(1));
  });

  it('an empty template cell on one row keeps the row form and its old wording', async () => {
    const plan = await validate({ 't/a.hbs': '<p>x</p>', 'in.csv': `${KEYS},template\n${P},${PROV},${LOC},a\n${P},${PROV},${LOC},\n` });
    expect(plan.problems).toEqual(['row 2, column template: empty (fill the column or give --template)']);
  });
});

describe('key columns that hold names', () => {
  it('says once that the values look like names, naming the mapped column and where keys come from, never a value', async () => {
    const plan = await validate(
      { 't/a.hbs': '<p>x</p>', 'in.csv': `${KEYS.replace('providerKey', 'Provider')}\n${rows(600, (i) => `${P},Dr Jane Smith${'x'.repeat(i % 3)},${LOC}`)}` },
      { template: 'a', map: { providerKey: 'Provider' } },
    );
    expect(plan.problems).toEqual([
      'column Provider: malformed key in all 600 rows: letters, digits and - only, at most 64 characters',
      'column providerKey ("Provider"): 600 values look like names, not Canvas keys; a Canvas key is the id in the chart\'s URL or from the FHIR API (Practitioner.id): map the key column with --map providerKey="<column>" or give --provider <key>',
    ]);
    expect(plan.problems.join('\n')).not.toContain('Jane');
  });

  it('a name has spaces and no digits; a malformed key with digits is not called a name', () => {
    expect(looksLikeName('Dr. Jane Smith')).toBe(true);
    expect(looksLikeName(' María  de la Cruz ')).toBe(true);
    expect(looksLikeName('Smith')).toBe(false);
    expect(looksLikeName('key 123')).toBe(false);
  });
});

describe('{{First Name}} read as a helper', () => {
  it('without a CSV, suggests the bracket form and --map, keeping file and line', () => {
    const dir = writeTree(tempDir('cl-msg-'), { 't.hbs': '<p>\n{{First Name}}</p>' });
    const err = (() => {
      try {
        TemplateSet.load(dir).get('t');
      } catch (e) {
        return e as TemplateError;
      }
    })();
    expect(err).toBeInstanceOf(TemplateError);
    expect(err!.line).toBe(2);
    expect(err!.message).toContain(`${join(dir, 't.hbs')}, line 2: unknown helper "First"`);
    expect(err!.message).toContain('{{First Name}} reads as helper "First" with a parameter; for a column named "First Name" write {{[First Name]}}, or --map firstName="First Name" and {{firstName}}');
  });

  it('at validation, names the CSV column the words make', async () => {
    const err = await rejection(validate({ 't/a.hbs': '<p>{{Date of Birth}}</p>', 'in.csv': `${KEYS},Date of Birth\n${P},${PROV},${LOC},1958-03-14\n` }, { template: 'a' }));
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.message).toContain('unknown helper "Date": {{Date of Birth}} reads as helper "Date" with parameters; the CSV has a column "Date of Birth": write {{[Date of Birth]}}, or --map dateOfBirth="Date of Birth" and {{dateOfBirth}}');
  });

  it('{{[First Name]}} reads the column', async () => {
    const plan = await validate({ 't/a.hbs': '<p>{{[First Name]}}</p>', 'in.csv': `${KEYS},First Name\n${P},${PROV},${LOC},Ann\n` }, { template: 'a' });
    expect(plan.ready).toBe(1);
  });
});

describe('helper errors name the column of the value', () => {
  it('a date formatDate cannot read is `row N, column <column>: not a date (…)`, naming the setting', async () => {
    const plan = await validate(
      { 't/a.hbs': '<p>{{formatDate dob "long"}}</p>', 'in.csv': `${KEYS},Date of Birth\n${P},${PROV},${LOC},1958-03-14\n${P},${PROV},${LOC},14/03/1958\n` },
      { template: 'a', map: { dob: 'Date of Birth' } },
    );
    expect(plan.problems).toEqual([
      'row 2, column Date of Birth: not a date (expected YYYY-MM-DD or MM/DD/YYYY; for day-first dates set "dateInput": "DD/MM/YYYY" in canvas-letters.config.json, --date-input DD/MM/YYYY, or formatDate … input="DD/MM/YYYY")',
    ]);
  });

  it('a value given through a subexpression has no column to name: the row names the template and the helper', async () => {
    const plan = await validate(
      { 't/a.hbs': '<p>{{formatDate (upper dob)}}</p>', 'in.csv': `${KEYS},dob\n${P},${PROV},${LOC},31/31/1958\n` },
      { template: 'a' },
    );
    expect(plan.problems[0]).toMatch(/^row 1: template a: formatDate: not a date \(expected YYYY-MM-DD or MM\/DD\/YYYY; for day-first/);
  });
});

describe('day-first dates', () => {
  it('parses DD/MM/YYYY only in that order, and always YYYY-MM-DD', () => {
    expect(parseCalendarDate('14/03/1958', 'DD/MM/YYYY')).toEqual({ year: 1958, month: 3, day: 14 });
    expect(parseCalendarDate('14/03/1958')).toBeUndefined();
    expect(parseCalendarDate('03/14/1958', 'DD/MM/YYYY')).toBeUndefined();
    expect(parseCalendarDate('1958-03-14', 'DD/MM/YYYY')).toEqual({ year: 1958, month: 3, day: 14 });
  });

  it('the template\'s input= wins over the file-wide setting', () => {
    expect(formatDateValue('04/03/1958', 'iso', undefined, { input: 'DD/MM/YYYY', setting: 'MM/DD/YYYY' })).toBe('1958-03-04');
    expect(formatDateValue('04/03/1958', 'iso', undefined, { input: 'MM/DD/YYYY', setting: 'DD/MM/YYYY' })).toBe('1958-04-03');
    expect(formatDateValue('04/03/1958', 'iso', undefined, { setting: 'DD/MM/YYYY' })).toBe('1958-03-04');
  });

  it('a slash date not valid in the order in force is refused, naming where the order was set', () => {
    const hint = (dates: Parameters<typeof formatDateValue>[3]) => {
      try {
        formatDateValue('03/14/1958', 'long', undefined, dates);
      } catch (err) {
        return (err as HelperError).hint;
      }
    };
    expect(hint({ setting: 'DD/MM/YYYY' })).toBe('expected YYYY-MM-DD or DD/MM/YYYY, as --date-input or "dateInput" in canvas-letters.config.json says; for month-first dates set it to MM/DD/YYYY');
    expect(hint({ input: 'DD/MM/YYYY' })).toBe('expected YYYY-MM-DD or DD/MM/YYYY, as the template\'s input="DD/MM/YYYY" says');
  });

  it('refuses an input= that is not a date order when the template is loaded, and one from a field when rendering', () => {
    const bad = writeTree(tempDir('cl-msg-'), { 't.hbs': '{{formatDate d input="YYYY/DD/MM"}}' });
    expect(() => TemplateSet.load(bad).get('t')).toThrow(/t\.hbs, line 1: formatDate: input "YYYY\/DD\/MM" is not a date order: write input="MM\/DD\/YYYY" or input="DD\/MM\/YYYY"/);
    expect(() => formatDateValue('1958-03-14', 'long', undefined, { input: 'YMD' })).toThrow('formatDate: input is not a date order (use MM/DD/YYYY or DD/MM/YYYY)');
  });

  it('refuses a --date-input or dateInput that is not a date order', () => {
    expect(parseDateInput('dd/mm/yyyy')).toBe('DD/MM/YYYY');
    expect(() => parseDateInput('YYYY-MM-DD')).toThrow(UsageError);
    expect(() => parseDateInput('DMY')).toThrow('--date-input DMY: not a date order: give --date-input MM/DD/YYYY or --date-input DD/MM/YYYY');
    expect(() => TemplateSet.load(tempDir(), { dateInput: 'DMY' as never })).toThrow(UsageError);
  });

  it('dateInput reads a day-first file, renders it day-first, and never changes the letter keys', async () => {
    const files = {
      't/a.hbs': '<p>{{formatDate dob "iso"}}</p>',
      'in.csv': `${KEYS},dob\n${P},${PROV},${LOC},1958-03-14\n${P},${PROV},${LOC},04/03/1958\n`,
    };
    const monthFirst = await validate(files, { template: 'a' });
    const dayFirst = await validate(files, { template: 'a', dateInput: 'DD/MM/YYYY' });
    expect(dayFirst.ready).toBe(2);
    expect(dayFirst.templates.get('a').render({ dob: '04/03/1958' })).toBe('<p>1958-03-04</p>');
    expect(monthFirst.templates.get('a').render({ dob: '04/03/1958' })).toBe('<p>1958-04-03</p>');
    // The key hashes the merge values, not the rendered letter: the setting changes no key.
    expect([dayFirst.letterKeyOf(1), dayFirst.letterKeyOf(2)]).toEqual([monthFirst.letterKeyOf(1), monthFirst.letterKeyOf(2)]);
  });
});
