/**
 * From CSV columns to letter fields: `--map field=column`, `--provider`, `--location`,
 * and the per-row `template` column. Pure functions of the header and one row.
 */
import { UsageError } from '../errors.js';
import { showName } from '../escape.js';
import { DATE_ORDERS, isDateOrder, type DateOrder } from '../templates/dates.js';
import { KEY_FIELDS, emptyRecord, type CsvRow, type Keys } from '../types.js';

/** The column that picks a row's template, overriding `--template`. */
export const TEMPLATE_COLUMN = 'template';

export interface MappingOptions {
  /** field → CSV column, from `--map field=column`. */
  map?: Record<string, string>;
  /** providerKey for rows whose CSV has none (`--provider`). */
  provider?: string;
  /** practiceLocationKey for rows whose CSV has none (`--location`). */
  location?: string;
  /** Template for rows without a `template` column value (`--template`). */
  template?: string;
  /** Fields provided by something other than the CSV (the `--lookup` fields). */
  extraFields?: readonly string[];
}

/** Parse repeated `--map field=column` options. */
export function parseMapOptions(values: readonly string[] = []): Record<string, string> {
  // Null prototype: a field named `__proto__` or `constructor` is an ordinary key.
  const map = emptyRecord();
  for (const value of values) {
    const eq = value.indexOf('=');
    const field = eq > 0 ? value.slice(0, eq).trim() : '';
    const column = eq > 0 ? value.slice(eq + 1).trim() : '';
    if (!field || !column) {
      throw new UsageError(`--map ${showName(value)}: expected field=column`, 'e.g. --map patientKey="Patient ID"');
    }
    if (Object.hasOwn(map, field)) {
      throw new UsageError(`--map ${showName(field)}: given twice`, 'map each field once');
    }
    map[field] = column;
  }
  return map;
}

/** `--date-input <order>` (or the config file's `dateInput`): how the CSV writes slash dates. */
export function parseDateInput(value: string): DateOrder {
  const order = value.trim().toUpperCase();
  if (isDateOrder(order)) return order;
  throw new UsageError(`--date-input ${showName(value)}: not a date order`, `give --date-input ${DATE_ORDERS.join(' or --date-input ')} (YYYY-MM-DD is always read)`);
}

/** Reads letter fields out of CSV rows of one file. */
export class RowMapper {
  readonly headers: readonly string[];
  private readonly index = new Map<string, number>();
  private readonly fieldColumn = new Map<string, string>();
  /** `--provider` / `--location`, by field: a Map, so no inherited name looks present. */
  private readonly defaults = new Map<string, string>();
  private readonly templateOption?: string;
  private readonly extraFields: ReadonlySet<string>;

  constructor(headers: readonly string[], options: MappingOptions = {}, file = 'the CSV') {
    this.headers = headers;
    for (let i = 0; i < headers.length; i++) this.index.set(headers[i]!, i);
    for (const [field, column] of Object.entries(options.map ?? {})) {
      if (!this.index.has(column)) {
        throw new UsageError(
          `--map ${showName(field)}=${showName(column)}: ${showName(file)} has no column "${showName(column)}"`,
          `its columns are: ${listColumns(headers)}`,
        );
      }
      this.fieldColumn.set(field, column);
    }
    if (options.provider) this.defaults.set('providerKey', options.provider);
    if (options.location) this.defaults.set('practiceLocationKey', options.location);
    this.templateOption = options.template;
    this.extraFields = new Set(options.extraFields ?? []);
  }

  /** The CSV column a field is read from, or undefined when the CSV has none. */
  columnOf(field: string): string | undefined {
    const mapped = this.fieldColumn.get(field);
    if (mapped !== undefined) return mapped;
    return this.index.has(field) ? field : undefined;
  }

  /** Whether a field has a source: a column, a default for the two defaultable keys, or a lookup. */
  provides(field: string): boolean {
    return this.columnOf(field) !== undefined || this.defaults.has(field) || this.extraFields.has(field);
  }

  /** The raw value of a field in a row ("" when the CSV has no such column). */
  value(row: CsvRow, field: string): string {
    const column = this.columnOf(field);
    if (column === undefined) return '';
    return row.values[this.index.get(column)!] ?? '';
  }

  /** The three Canvas keys of a row, with `--provider` / `--location` filling empty cells. */
  keys(row: CsvRow): Keys {
    const keys = Object.create(null) as Keys;
    for (const field of KEY_FIELDS) {
      const own = this.value(row, field);
      keys[field] = own.trim() === '' ? (this.defaults.get(field) ?? own) : own;
    }
    return keys;
  }

  /** The template a row asks for: its `template` cell, else `--template`. */
  templateName(row: CsvRow): string | undefined {
    const own = this.value(row, TEMPLATE_COLUMN).trim();
    return own || this.templateOption;
  }

  /**
   * Everything a template can merge: every column by header name, mapped fields, keys. A
   * null-prototype object: a column named `__proto__` or `constructor` is an own value like any
   * other, and a name no column has (`toString`) is absent, never inherited.
   */
  data(row: CsvRow): Record<string, string> {
    const data = emptyRecord();
    const { headers } = this;
    for (let i = 0; i < headers.length; i++) data[headers[i]!] = row.values[i] ?? '';
    for (const [field, column] of this.fieldColumn) data[field] = data[column]!;
    Object.assign(data, this.keys(row));
    return data;
  }
}

/** The header for a hint, each name escaped; long headers are cut after 20 names. */
function listColumns(headers: readonly string[]): string {
  const shown = headers.slice(0, 20).map(showName).join(', ');
  return headers.length > 20 ? `${shown}, … (${headers.length} columns)` : shown;
}
