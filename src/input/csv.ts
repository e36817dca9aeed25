/**
 * CSV input. `openCsv` reads just the beginning of a file to find its delimiter and header;
 * `rows()` then streams the data rows from the start, as often as asked, through a UTF-8 check
 * and csv-parse. Values stay strings exactly as written. Errors and warnings name the file,
 * line, row and column, never a cell value: the cells hold patient data.
 */
import type { Hash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { parse, CsvError as ParseError, type Info } from 'csv-parse';
import { CsvError } from '../errors.js';
import { showName } from '../escape.js';
import type { CsvRow } from '../types.js';

export type Delimiter = ',' | ';' | '\t';

export interface CsvSource {
  /** The path as given by the caller (used in messages). */
  file: string;
  /** Header names, trimmed of surrounding whitespace. */
  headers: string[];
  delimiter: Delimiter;
  /** Human-readable, each starting with `${file}: `. */
  warnings: string[];
  /**
   * Stream every data row, from the start of the file, each time it is called. Throws CsvError.
   * With `hash`, every byte read (the header too) also goes into it: once the rows are all read,
   * its digest is that of the exact bytes the rows came from.
   */
  rows(hash?: Hash): AsyncGenerator<CsvRow>;
}

/** Bytes read at a time. Exported for tests (a character across a chunk boundary). @internal */
export const CHUNK_BYTES = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];
const DELIMITER_NAMES: Record<Delimiter, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab' };
const UTF8_HINT = 'save the file as UTF-8 (in Excel: Save As → "CSV UTF-8")';
const QUOTE_HINT =
  'a value containing the delimiter, a quote or a line break must be enclosed in quotes, ' +
  'with each quote inside it doubled ("")';
const PARSE_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted value in the row starting on this line is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by other characters in the row starting on this line',
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted value in the row starting on this line',
};

export async function openCsv(file: string): Promise<CsvSource> {
  const stats = await statFile(file);
  if (stats.size === 0) throw emptyFile(file);
  const delimiter = detectDelimiter(await readHead(file));
  let raw: string[] | undefined;
  for await (const { record } of records(file, delimiter)) {
    raw = record;
    break;
  }
  if (!raw) throw emptyFile(file);

  const line = await lineAt(file, 0);
  const { headers, warnings } = checkHeader(file, line, raw);
  return { file, headers, delimiter, warnings, rows: (hash?: Hash) => dataRows(file, stats, delimiter, headers.length, hash) };
}

/**
 * The header names, trimmed, and warnings about trimmed ones. Refuses a blank or repeated name.
 * One pass with a Map, however wide the header (a quadratic search took 25 s on 100,000 columns).
 */
function checkHeader(file: string, line: number | undefined, raw: readonly string[]): { headers: string[]; warnings: string[] } {
  const headers: string[] = new Array<string>(raw.length);
  const warnings: string[] = [];
  const firstIndex = new Map<string, number>();
  for (let i = 0; i < raw.length; i++) {
    const name = raw[i]!.trim();
    headers[i] = name;
    if (name === '') {
      throw new CsvError({ file, line, column: String(i + 1) }, 'the header name is blank',
        'give every column a name in the header line, or delete the empty column');
    }
    const first = firstIndex.get(name);
    if (first !== undefined) {
      throw new CsvError({ file, line, column: name }, `is in the header twice (columns ${first + 1} and ${i + 1})`,
        'rename or delete one of the two columns');
    }
    firstIndex.set(name, i);
    if (name !== raw[i]) warnings.push(`${showName(file)}: line ${line}, column "${showName(name)}": spaces around the header name were removed`);
  }
  return { headers, warnings };
}

/** The most frequent of comma, semicolon and tab outside quotes in the first non-blank line; comma on none or a tie. */
export function detectDelimiter(text: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of text.replace(/^\uFEFF?[\r\n]*/, '')) {
    if (ch === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === '\n' || ch === '\r') break;
    else if (ch in counts) counts[ch as Delimiter]++;
  }
  const [best, second] = (Object.entries(counts) as [Delimiter, number][]).sort((a, b) => b[1] - a[1]) as [[Delimiter, number], [Delimiter, number], ...unknown[]];
  return best[1] > second[1] ? best[0] : ',';
}

/** Passes bytes through unchanged; fails with the line of the first byte that is not valid UTF-8. Exported for tests. @internal */
export class Utf8Check extends Transform {
  private readonly lines = new LineCounter();
  private need = 0; // continuation bytes still expected
  private lo = 0x80; // allowed range of the next continuation byte
  private hi = 0xbf;

  constructor(
    private readonly file: string,
    private readonly hash?: Hash,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash?.update(chunk);
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!; // an index loop: a Buffer iterator is slower on large files
      if (!this.accept(byte)) return done(this.invalid());
      this.lines.push(byte);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.need > 0 ? this.invalid() : null);
  }

  /** One step of the UTF-8 decoder (WHATWG ranges: no overlongs, surrogates or code points past U+10FFFF). */
  private accept(b: number): boolean {
    if (this.need > 0) {
      if (b < this.lo || b > this.hi) return false;
      this.need--;
      this.lo = 0x80;
      this.hi = 0xbf;
    } else if (b >= 0xc2 && b <= 0xdf) {
      this.need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      this.need = 2;
      if (b === 0xe0) this.lo = 0xa0;
      if (b === 0xed) this.hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      this.need = 3;
      if (b === 0xf0) this.lo = 0x90;
      if (b === 0xf4) this.hi = 0x8f;
    } else if (b >= 0x80) {
      return false;
    }
    return true;
  }

  private invalid(): CsvError {
    return new CsvError({ file: this.file, line: this.lines.next }, 'contains bytes that are not valid UTF-8', UTF8_HINT);
  }
}

/** Counts physical lines byte by byte: LF, CRLF and a lone CR each end a line. */
class LineCounter {
  line = 1;
  private cr = false;

  push(b: number): void {
    if (b === LF || this.cr) this.line++;
    this.cr = b === CR;
  }

  /** The line of the next byte. */
  get next(): number {
    return this.line + (this.cr ? 1 : 0);
  }
}

async function* dataRows(file: string, opened: Stats, delimiter: Delimiter, width: number, hash?: Hash): AsyncGenerator<CsvRow> {
  const now = await statFile(file);
  if (now.size !== opened.size || now.mtimeMs !== opened.mtimeMs) {
    throw new CsvError({ file }, 'the file changed while it was being used', 'run the command again');
  }
  let row = 0;
  let start = -1; // byte offset where the next data record starts; -1 while reading the header
  for await (const { record, info } of records(file, delimiter, hash)) {
    if (start >= 0) {
      row++;
      if (record.length !== width) {
        throw new CsvError({ file, row, line: await lineAt(file, start) },
          `has ${count(record.length, 'value')} but the header has ${count(width, 'column')}`,
          `put quotes around values that contain the delimiter (${DELIMITER_NAMES[delimiter]}), and give each row one value per column`);
      }
      yield { row, values: record };
    }
    start = info.bytes;
  }
}

/** Every record of the file (header included), with csv-parse's info; parse and read errors become CsvError. */
async function* records(file: string, delimiter: Delimiter, hash?: Hash): AsyncGenerator<{ record: string[]; info: Info }> {
  let parsed = 0; // byte offset after the last record parsed (maybe not yet consumed)
  const parser = parse({
    delimiter,
    bom: true,
    info: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true, // ragged rows are reported by row number in dataRows
    skip_empty_lines: true,
    on_record: (record, context) => {
      parsed = context.bytes;
      return record;
    },
  });
  const source = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  pipeline(source, new Utf8Check(file, hash), parser, () => {}); // errors reach us through the parser
  try {
    yield* parser as AsyncIterable<{ record: string[]; info: Info }>;
  } catch (err) {
    if (err instanceof CsvError) throw err;
    if (!(err instanceof ParseError)) throw fileError(file, err);
    const problem = PARSE_PROBLEMS[err.code] ?? `the row starting on this line cannot be read as CSV (${err.code})`;
    throw new CsvError({ file, line: await lineAt(file, parsed) }, problem, QUOTE_HINT);
  }
}

/** The first CHUNK_BYTES of the file: plenty for a header line, and all the delimiter detection needs. */
async function readHead(file: string): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of createReadStream(file, { end: CHUNK_BYTES - 1 })) chunks.push(chunk as Buffer);
  } catch (err) {
    throw fileError(file, err);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** 1-based line of the first byte at or after `offset` that is neither a line break nor the BOM. */
async function lineAt(file: string, offset: number): Promise<number | undefined> {
  const lines = new LineCounter();
  let pos = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
      for (const b of chunk) {
        if (pos >= offset && b !== LF && b !== CR && !(pos < 3 && b === BOM[pos])) return lines.next;
        lines.push(b);
        pos++;
      }
    }
  } catch {
    return undefined; // only used to locate another error: do not hide it
  }
  return lines.next;
}

async function statFile(file: string): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await stat(file);
  } catch (err) {
    throw fileError(file, err);
  }
  if (stats.isDirectory()) throw new CsvError({ file }, 'is a folder, not a file', 'give the path of the CSV file itself');
  if (!stats.isFile()) {
    throw new CsvError({ file }, 'is not a regular file', 'save the CSV to a file first: it is read more than once');
  }
  return stats;
}

function fileError(file: string, err: unknown): CsvError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new CsvError({ file }, 'file not found', 'check the path and the file name');
    case 'EACCES':
    case 'EPERM':
      return new CsvError({ file }, 'cannot be read (permission denied)', 'check the file permissions');
    default:
      return new CsvError({ file }, `cannot be read (${code ?? 'unknown error'})`, 'check the file can be opened');
  }
}

function emptyFile(file: string): CsvError {
  return new CsvError({ file }, 'the file is empty',
    'the first line must hold the column names, and each following line one row');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
