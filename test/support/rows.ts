/**
 * Jury-duty CSVs for the end-to-end tests: `n` rows for templates/jury-duty, each a distinct
 * patient under the same provider and practice location.
 *
 * Row i (counting from 0 in one call) has the patientKey juryKey(first + i, pad): the key number in
 * hex, left-padded to 32 characters with `pad`. A test file keeps its own pad character, so that its
 * patients are never another file's. Every other field has a default (patient "Person i", born
 * 1970-01-01, the Maple practice at "1 Main St, X", Dr. V, MD) that `fields` can replace.
 *
 * juryCsv(n) is the header line and the rows; juryRows(n) the rows alone (to append to a file).
 * Every line ends with "\n"; a value holding a comma, a quote or a line break is quoted.
 */

/** Row i's values before `fields`, in the column order of the tests' CSVs. */
function defaults(i: number, key: string) {
  return {
    patientKey: key,
    providerKey: 'aa11bb22cc33dd44ee55ff6677889900',
    practiceLocationKey: '3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8',
    patientName: `Person ${i}`,
    dateOfBirth: '1970-01-01',
    summonsDate: '2026-12-14',
    excuseUntil: '2027-03-31',
    practiceName: 'Maple',
    practiceAddress: '1 Main St, X',
    practicePhone: '(541) 555-0142',
    providerName: 'Dr. V',
    providerCredentials: 'MD',
  };
}

/** The jury-duty template's columns. */
export type JuryColumn = keyof ReturnType<typeof defaults>;

export interface JuryOptions {
  /** The key number of the first row (default 1): row i's key number is first + i. */
  first?: number;
  /** The character the hex key number is left-padded with to 32 characters (default 'c'). */
  pad?: string;
  /**
   * Row i's values over the defaults (i counts from 0 in this call, whatever `first` is). A name
   * that is not a column adds one after the others; return the same names for every row.
   */
  fields?: (i: number) => Record<string, string>;
  /** A column left out of the header and of every row (a file that lacks it). */
  drop?: JuryColumn;
}

/**
 * The practice, provider and patient names the send, faults and ledger-tool tests use, for the
 * row whose key number is `k`: "Patient Number k" at Maple Grove, "1 Main St, Springfield", with
 * Dr. Vásquez.
 */
export function fullerNames(k: number): Record<string, string> {
  return { patientName: `Patient Number ${k}`, practiceName: 'Maple Grove', practiceAddress: '1 Main St, Springfield', providerName: 'Dr. Vásquez' };
}

/** The 32-character patientKey of key number `k`. */
function juryKey(k: number, pad: string): string {
  return k.toString(16).padStart(32, pad);
}

/** Row i's values, column by column (the defaults, then `fields`, less `drop`). */
function record(i: number, opts: JuryOptions): Record<string, string> {
  const values: Record<string, string> = { ...defaults(i, juryKey((opts.first ?? 1) + i, opts.pad ?? 'c')), ...opts.fields?.(i) };
  if (opts.drop !== undefined) delete values[opts.drop];
  return values;
}

/** One CSV line, "\n" included. */
function line(values: string[]): string {
  return values.map((v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',') + '\n';
}

/** `n` rows without a header. */
export function juryRows(n: number, opts: JuryOptions = {}): string {
  return Array.from({ length: n }, (_, i) => line(Object.values(record(i, opts)))).join('');
}

/** A whole CSV: the header line (the columns of the rows), then `n` rows. */
export function juryCsv(n: number, opts: JuryOptions = {}): string {
  return line(Object.keys(record(0, opts))) + juryRows(n, opts);
}
