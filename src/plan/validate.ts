/**
 * Validation before anything else: one streaming pass over the CSV that checks every row
 * (keys, template, merge fields, that it renders) and finds duplicate letters. The plan it
 * returns is compact (a status byte and a 32-byte letter key per row, notes only for rows
 * that are not ready), never the rows' values or rendered letters: preview and send stream
 * the file a second time (replay.ts) to act on it, so memory stays flat with the row count.
 */
import { createHash } from 'node:crypto';
import { CsvError } from '../errors.js';
import { showName } from '../escape.js';
import { openCsv, type CsvSource } from '../input/csv.js';
import { isWellFormedKey, letterKey } from './letter-key.js';
import { RowMapper, TEMPLATE_COLUMN, type MappingOptions } from '../input/mapping.js';
import { HELPER_NAMES, TEMPLATE_NAME, TemplateSet, type DateOrder, type LoadedTemplate } from '../templates/index.js';
import { UnknownHelperError } from '../templates/fields.js';
import { HelperRenderError } from '../templates/render.js';
import { KEY_FIELDS, ownValue, type CsvRow, type KeyField, type Keys } from '../types.js';
import { ProblemCollector, describeProblem, looksLikeName, type ProblemGroup, type RowProblem } from './problems.js';

export type { ProblemGroup, RowProblem } from './problems.js';

export type PlanStatus = 'ready' | 'invalid' | 'skipped';
const STATUS_CODES: readonly PlanStatus[] = ['ready', 'invalid', 'skipped'];
const KEY_BYTES = 32;

/** One row as validation sees it (rebuilt from the file in the second pass). */
export interface PlannedRow {
  row: number;
  status: PlanStatus;
  keys: Keys;
  /** Template name as asked for by the row ("" when none). */
  template: string;
  /** Letter key (ready and skipped rows). */
  letterKey?: string;
  /** Why the row is invalid or skipped (no cell values). */
  error?: string;
}

/** What validation decided, row by row, in a few bytes per row. */
export class Plan {
  /**
   * Every problem, one line each, for people: batch-wide ones once, then the rows' problems grouped
   * (`row 7, column patientName: empty` for one row; `column template: empty in all 300 rows: …`
   * for many), then a note per key column whose values look like names. Each row's own problem
   * is its note (noteOf) and its report `error`.
   */
  readonly problems: string[];
  /** The rows' problems as data, grouped: column, message, hint, count and the first rows. */
  readonly problemGroups: ProblemGroup[] = [];
  /** Non-fatal notes: header whitespace, remote images in templates, optional columns absent. */
  readonly warnings: string[];
  ready = 0;
  invalid = 0;
  skipped = 0;
  /** sha256 (hex) of the CSV file's bytes as validation read them. */
  csvSha256 = '';
  private count = 0;
  private statuses = new Uint8Array(1024);
  private keys = Buffer.alloc(1024 * KEY_BYTES);
  private readonly notes = new Map<number, string>();

  constructor(
    readonly source: CsvSource,
    readonly templates: TemplateSet,
    readonly mapper: RowMapper,
    readonly lookup?: LookupSource,
    problems: string[] = [],
    warnings: string[] = [],
  ) {
    this.problems = problems;
    this.warnings = warnings;
  }

  /** A row's merge data: looked-up fields, then every column (a CSV column wins). Null prototype, own values only. */
  data(row: CsvRow, keys: Keys = this.mapper.keys(row)): Record<string, string> {
    const own = this.mapper.data(row);
    return this.lookup ? Object.assign(Object.create(null) as Record<string, string>, this.lookup.fieldsFor(keys), own) : own;
  }

  /** Number of data rows. */
  get rows(): number {
    return this.count;
  }

  /** Record row `count + 1`. */
  add(status: PlanStatus, key?: string, note?: string): void {
    const i = this.count++;
    if (i === this.statuses.length) {
      const statuses = new Uint8Array(i * 2);
      statuses.set(this.statuses);
      this.statuses = statuses;
      const keys = Buffer.alloc(i * 2 * KEY_BYTES);
      this.keys.copy(keys);
      this.keys = keys;
    }
    this.statuses[i] = STATUS_CODES.indexOf(status);
    if (key) this.keys.write(key, i * KEY_BYTES, KEY_BYTES, 'hex');
    if (note) this.notes.set(i + 1, note);
    this[status]++;
  }

  statusOf(row: number): PlanStatus {
    return STATUS_CODES[this.statuses[row - 1]!]!;
  }

  /** The letter key of a ready or skipped row. */
  letterKeyOf(row: number): string | undefined {
    return this.statusOf(row) === 'invalid' ? undefined : this.keys.toString('hex', (row - 1) * KEY_BYTES, row * KEY_BYTES);
  }

  /** Why a row is invalid or skipped. */
  noteOf(row: number): string | undefined {
    return this.notes.get(row);
  }

  /** Row numbers of the ready rows, in order. */
  *readyRows(): Generator<number> {
    for (let i = 0; i < this.count; i++) if (this.statuses[i] === 0) yield i + 1;
  }
}

/** Merge fields looked up by the rows' keys (the FHIR directory of `--lookup`). */
export interface LookupSource {
  /** The fields it can provide (e.g. `patient.fullName`). */
  readonly fields: readonly string[];
  /** Read everything the rows' keys need, once. */
  load(keys: Iterable<Keys>): Promise<void>;
  fieldsFor(keys: Keys): Record<string, string>;
  problemsFor(keys: Keys): { field: KeyField; message: string }[];
}

export interface ValidateOptions extends MappingOptions {
  csv: string;
  templatesDir: string;
  /** Look fields up by the rows' keys; a CSV column of the same name wins. */
  lookup?: LookupSource;
  /**
   * How the file writes slash dates for formatDate (`--date-input`): `MM/DD/YYYY` (the default)
   * or `DD/MM/YYYY`; YYYY-MM-DD is always read. A template's `input=` wins over it. Letter keys
   * hash the merge values, not the rendered dates, so this setting never changes them.
   */
  dateInput?: DateOrder;
  /** The date `{{today}}` gives in every letter, `YYYY-MM-DD` (default: the local date when validation starts). */
  renderDate?: string;
}

/** Validate every row of a CSV file. Throws only for a file or template that cannot be used at all. */
export async function validateBatch(opts: ValidateOptions): Promise<Plan> {
  const source = await openCsv(opts.csv);
  checkHeaders(source);
  const templates = TemplateSet.load(opts.templatesDir, { dateInput: opts.dateInput, ...(opts.renderDate !== undefined && { renderDate: opts.renderDate }) });
  try {
    if (opts.template !== undefined) templates.get(opts.template); // unknown/broken --template: usage error now
    const mapper = new RowMapper(source.headers, { ...opts, extraFields: opts.lookup?.fields }, source.file);
    checkKeyFields(source.file, mapper);
    const plan = new Plan(source, templates, mapper, opts.lookup);
    if (opts.lookup) await opts.lookup.load(await distinctKeys(source, mapper));
    const checker = new RowChecker(source.file, plan);
    const bytes = createHash('sha256');
    for await (const csvRow of source.rows(bytes)) {
      const { status, letterKey: key, error } = checker.check(csvRow);
      plan.add(status, key, error);
    }
    plan.csvSha256 = bytes.digest('hex');
    if (plan.rows === 0) {
      throw new CsvError({ file: source.file }, 'has a header but no data rows', 'add one row per letter');
    }
    plan.problems.push(...checker.batchProblems, ...checker.rowProblems.lines(plan.rows));
    plan.problemGroups.push(...checker.rowProblems.list());
    plan.warnings.push(...source.warnings, ...checker.warnings);
    return plan;
  } catch (err) {
    throw withCsvColumn(err, source.headers);
  }
}

/** `{{First Name}}` read as helper "First": with the CSV's header known, name its column "First Name". */
function withCsvColumn(err: unknown, headers: readonly string[]): unknown {
  if (!(err instanceof UnknownHelperError) || !err.words) return err;
  const joined = err.words.join(' ');
  const column = headers.find((h) => h === joined) ?? headers.find((h) => h.toLowerCase() === joined.toLowerCase());
  return column === undefined ? err : err.withColumn(column);
}

/** Every distinct key triple of the file (one streaming pass), for the lookup to read. */
async function distinctKeys(source: CsvSource, mapper: RowMapper): Promise<Keys[]> {
  const seen = new Map<string, Keys>();
  for await (const row of source.rows()) {
    const keys = mapper.keys(row);
    seen.set(KEY_FIELDS.map((f) => keys[f]).join('\u0000'), keys);
  }
  return [...seen.values()];
}

const HELPERS: ReadonlySet<string> = new Set(HELPER_NAMES);

/** A column named like a helper would be shadowed by the helper in every template. */
function checkHeaders(source: CsvSource): void {
  source.headers.forEach((h, i) => {
    if (HELPERS.has(h)) {
      throw new CsvError(
        { file: source.file, line: 1, column: h },
        `column ${i + 1} has the name of a template helper`,
        'rename the column in the CSV',
      );
    }
  });
}

class RowChecker {
  readonly batchProblems: string[] = [];
  readonly rowProblems = new ProblemCollector();
  readonly warnings: string[] = [];
  private readonly seen = new Map<string, number>();
  /** Per template: its fields' missing columns, computed once. */
  private readonly missing = new Map<string, string[]>();

  private readonly templates: TemplateSet;
  private readonly mapper: RowMapper;

  constructor(
    private readonly file: string,
    private readonly plan: Plan,
  ) {
    this.templates = plan.templates;
    this.mapper = plan.mapper;
  }

  check(csvRow: CsvRow): PlannedRow {
    const { row } = csvRow;
    const keys = this.mapper.keys(csvRow);
    const name = this.mapper.templateName(csvRow) ?? '';
    const problems = this.keyProblems(row, keys);
    if (problems.length === 0 && this.plan.lookup) {
      for (const p of this.plan.lookup.problemsFor(keys)) problems.push({ row, column: this.mapper.columnOf(p.field) ?? p.field, message: p.message });
    }
    const template = this.template(row, name, problems);
    // A column the template needs but the CSV lacks is a batch problem, listed once;
    // the row still says why it is invalid.
    const missing = template ? this.missingColumns(template) : [];
    let key: string | undefined;
    if (template && missing.length === 0) {
      const data = this.plan.data(csvRow, keys);
      for (const field of template.fields.required) {
        if (ownValue(data, field).trim() !== '') continue;
        const column = this.mapper.columnOf(field);
        problems.push(column !== undefined ? { row, column, message: 'empty' } : { row, column: field, message: 'not in the CSV, and Canvas has none for this row' });
      }
      for (const bad of problems.length === 0 ? template.checkValues(data) : []) {
        problems.push({ row, column: this.mapper.columnOf(bad.field) ?? bad.field, message: bad.message });
      }
      if (problems.length === 0) {
        try {
          template.render(data);
          key = letterKey(template.name, keys, template.fields.all, data);
        } catch (err) {
          problems.push(this.renderProblem(row, template, err));
        }
      }
    }
    if (problems.length > 0 || missing.length > 0) {
      for (const p of problems) this.rowProblems.add(p);
      const reasons = problems.map(describeProblem);
      if (missing.length > 0) reasons.push(showName(`template ${name} needs columns the CSV lacks: ${missing.join(', ')}`));
      return { row, status: 'invalid', keys, template: name, error: reasons.join('; ') };
    }
    const compact = Buffer.from(key!, 'hex').toString('latin1');
    const first = this.seen.get(compact);
    if (first !== undefined) {
      return { row, status: 'skipped', keys, template: name, letterKey: key, error: `duplicate of row ${first}` };
    }
    this.seen.set(compact, row);
    return { row, status: 'ready', keys, template: name, letterKey: key };
  }

  /** Empty or malformed keys; a malformed one that reads like a name is counted for the note (never kept). */
  private keyProblems(row: number, keys: Keys): RowProblem[] {
    const problems: RowProblem[] = [];
    for (const field of KEY_FIELDS) {
      const column = this.mapper.columnOf(field) ?? field;
      if (keys[field].trim() === '') problems.push({ row, column, message: 'empty' });
      else if (!isWellFormedKey(keys[field])) {
        problems.push({ row, column, message: 'malformed key', hint: 'letters, digits and - only, at most 64 characters' });
        if (looksLikeName(keys[field])) this.rowProblems.nameInKey(field, column);
      }
    }
    return problems;
  }

  /** A row that does not render: a helper's refusal names the column of the field it was given, when it was a plain field. */
  private renderProblem(row: number, template: LoadedTemplate, err: unknown): RowProblem {
    if (err instanceof HelperRenderError) {
      const { problem, hint, message } = err.helper;
      if (err.field !== undefined) {
        return { row, column: this.mapper.columnOf(err.field) ?? err.field, message: problem ?? message, ...(hint !== undefined && { hint }) };
      }
      const helper = message.slice(0, message.indexOf(':'));
      const text = problem !== undefined ? `${helper}: ${problem}` : message;
      return { row, message: `template ${template.name}: ${text}`, ...(hint !== undefined && { hint }) };
    }
    return { row, message: `template ${template.name}: ${(err as Error).message}` };
  }

  private template(row: number, name: string, problems: RowProblem[]): LoadedTemplate | undefined {
    const column = this.mapper.columnOf(TEMPLATE_COLUMN);
    if (name === '') {
      // No template column at all and no --template: every row says so, and one line says it for all.
      const hint = column === undefined ? 'give -t <name> or add a template column' : 'fill the column or give --template';
      problems.push({ row, column: column ?? TEMPLATE_COLUMN, message: 'empty', hint });
      return undefined;
    }
    if (!TEMPLATE_NAME.test(name) || !this.templates.has(name)) {
      problems.push({ row, column: column ?? TEMPLATE_COLUMN, message: `no template named "${showName(name)}" (templates: ${this.templates.list().join(', ') || 'none'})` });
      return undefined;
    }
    return this.templates.get(name); // a broken template throws: the whole file stops (exit 2)
  }

  private missingColumns(template: LoadedTemplate): string[] {
    let missing = this.missing.get(template.name);
    if (missing === undefined) {
      missing = template.fields.required.filter((f) => !this.mapper.provides(f));
      this.missing.set(template.name, missing);
      for (const field of missing) {
        const f = showName(field);
        this.batchProblems.push(`${showName(this.file)}: column ${f}: missing (template ${template.name} uses it; add the column or use --map ${f}=<column>)`);
      }
      const absentOptional = template.fields.optional.filter((f) => !this.mapper.provides(f));
      if (absentOptional.length > 0) {
        this.warnings.push(showName(`${this.file}: template ${template.name} can use columns the CSV lacks (treated as empty): ${absentOptional.join(', ')}`));
      }
      this.warnings.push(...template.warnings);
    }
    return missing;
  }
}

/**
 * A key field that no column, --map, --provider or --location gives refuses the whole file (exit 2,
 * nothing rendered or sent): every letter would go to Canvas with an empty key. One line for all of them.
 */
function checkKeyFields(file: string, mapper: RowMapper): void {
  const missing = KEY_FIELDS.filter((field) => !mapper.provides(field));
  if (missing.length === 0) return;
  const ways = missing.map((field) => {
    const flag = field === 'providerKey' ? ' or --provider <key>' : field === 'practiceLocationKey' ? ' or --location <key>' : '';
    return `add a ${field} column, or use --map ${field}=<column>${flag}`;
  });
  throw new CsvError(
    { file: showName(file), line: 1 },
    `no column gives ${missing.join(', ')} (the Canvas key${missing.length === 1 ? '' : 's'} of every letter); nothing was rendered or sent`,
    ways.join('; '),
  );
}
