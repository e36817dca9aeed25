/**
 * Validation problems as data, and the one place they are grouped for people. Every row keeps
 * its own problem (the plan's note, the report's `error`); what is printed says the same problem
 * once, with a count and the first few rows: `column template: empty in all 300 rows: give -t
 * <name> or add a template column`. A problem met on one row keeps the contract's form,
 * `row 7, column patientName: empty`. No cell value is ever kept or shown: rows, columns, counts.
 */
import { showName } from '../escape.js';
import { KEY_FIELDS, type KeyField, type Problem } from '../types.js';

/** One problem with one row, and what to do about it (no cell values). */
export interface RowProblem extends Problem {
  /** What to do next, or what is expected (`letters, digits and - only, at most 64 characters`). */
  hint?: string;
}

/** The same problem (column, message and hint) met on one or more rows. */
export interface ProblemGroup {
  column?: string;
  message: string;
  hint?: string;
  /** How many rows have it. */
  count: number;
  /** The first rows that have it (at most SHOWN_ROWS), in order. */
  rows: number[];
}

/** How many rows a grouped line names before `…`. */
export const SHOWN_ROWS = 5;

/** A row problem as one line, and as the row's note in the report: `row 7, column x: message (hint)`. */
export function formatRowProblem(p: RowProblem): string {
  return showName(`row ${p.row}${p.column !== undefined ? `, column ${p.column}` : ''}: ${withHint(p)}`);
}

/** The problem without its row (the report's `error`): `column x: message (hint)`. */
export function describeProblem(p: Omit<RowProblem, 'row'>): string {
  return showName(p.column !== undefined ? `column ${p.column}: ${withHint(p)}` : withHint(p));
}

function withHint(p: Omit<RowProblem, 'row'>): string {
  return p.hint ? `${p.message} (${p.hint})` : p.message;
}

/** One line for a group: the row form for one row, else the column, the message, the count and the first rows. */
export function formatGroup(g: ProblemGroup, totalRows: number): string {
  if (g.count === 1) return formatRowProblem({ row: g.rows[0]!, column: g.column, message: g.message, hint: g.hint });
  const where = g.count === totalRows ? `in all ${g.count} rows` : `in ${g.count} rows`;
  const rows = `(rows ${g.rows.join(', ')}${g.count > g.rows.length ? ', …' : ''})`;
  const head = g.column !== undefined ? `column ${g.column}: ` : '';
  // Every row has it: the rows add nothing.
  const text = `${head}${g.message} ${where}${g.count === totalRows ? '' : ` ${rows}`}`;
  return showName(g.hint ? `${text}: ${g.hint}` : text);
}

/** Where Canvas keys come from, per key field, and how to give the right column or a default. */
const KEY_SOURCES: Record<KeyField, { resource: string; fix: string }> = {
  patientKey: { resource: 'Patient.id', fix: 'map the key column with --map patientKey="<column>"' },
  providerKey: { resource: 'Practitioner.id', fix: 'map the key column with --map providerKey="<column>" or give --provider <key>' },
  practiceLocationKey: { resource: 'Location.id', fix: 'map the key column with --map practiceLocationKey="<column>" or give --location <key>' },
};

/** A malformed key that reads like a person's or place's name: it has spaces and no digits. */
export function looksLikeName(value: string): boolean {
  return /\S\s+\S/.test(value.trim()) && !/\d/.test(value);
}

/**
 * Collects the problems of a file's rows, grouped as they come (memory stays flat with the row
 * count: a count and a few row numbers per distinct problem), and the key columns whose malformed
 * values look like names.
 */
export class ProblemCollector {
  private readonly groups = new Map<string, ProblemGroup>();
  private readonly nameLike = new Map<KeyField, { column: string; count: number }>();

  add(p: RowProblem): void {
    const id = JSON.stringify([p.column ?? null, p.message, p.hint ?? null]);
    let g = this.groups.get(id);
    if (!g) {
      g = { ...(p.column !== undefined && { column: p.column }), message: p.message, ...(p.hint !== undefined && { hint: p.hint }), count: 0, rows: [] };
      this.groups.set(id, g);
    }
    g.count++;
    if (g.rows.length < SHOWN_ROWS) g.rows.push(p.row);
  }

  /** A malformed value of a key field that looks like a name (the value itself is not kept). */
  nameInKey(field: KeyField, column: string): void {
    const seen = this.nameLike.get(field);
    if (seen) seen.count++;
    else this.nameLike.set(field, { column, count: 1 });
  }

  /** The groups, in the order their first row came. */
  list(): ProblemGroup[] {
    return [...this.groups.values()];
  }

  /** The lines to print: each group once, then one note per key column that holds names. */
  lines(totalRows: number): string[] {
    const lines = this.list().map((g) => formatGroup(g, totalRows));
    for (const field of KEY_FIELDS) {
      const names = this.nameLike.get(field);
      if (names) lines.push(nameNote(field, names.column, names.count));
    }
    return lines;
  }
}

/** `column providerKey ("Provider"): 600 values look like names, not Canvas keys; …`. Never the values. */
function nameNote(field: KeyField, column: string, count: number): string {
  const { resource, fix } = KEY_SOURCES[field];
  const which = column === field ? `column ${field}` : `column ${field} ("${column}")`;
  const values = count === 1 ? '1 value looks like a name' : `${count} values look like names`;
  return showName(`${which}: ${values}, not Canvas keys; a Canvas key is the id in the chart's URL or from the FHIR API (${resource}): ${fix}`);
}
