import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, detectDelimiter, openCsv, Utf8Check, type CsvSource } from '../src/input/csv.js';
import { CsvError } from '../src/errors.js';
import type { CsvRow } from '../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'canvas-letters-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function write(content: string | Buffer, name = `f${++n}.csv`): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

async function all(source: CsvSource): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  for await (const row of source.rows()) rows.push(row);
  return rows;
}

async function read(content: string | Buffer): Promise<{ source: CsvSource; rows: CsvRow[] }> {
  const source = await openCsv(write(content));
  return { source, rows: await all(source) };
}

/** The CsvError thrown by opening the content and reading every row. */
async function failure(content: string | Buffer): Promise<CsvError> {
  try {
    await read(content);
  } catch (err) {
    expect(err).toBeInstanceOf(CsvError);
    return err as CsvError;
  }
  throw new Error('expected a CsvError');
}

describe('csv-spectrum acid test', () => {
  const root = join(process.cwd(), 'node_modules', 'csv-spectrum');
  const cases = readdirSync(join(root, 'csvs'))
    .map((f) => f.replace(/\.csv$/, ''))
    .filter((name) => name !== 'location_coordinates'); // its JSON does not match its CSV

  it('has the cases', () => expect(cases.length).toBeGreaterThanOrEqual(10));

  it.each(cases)('reads %s like the expected JSON', async (name) => {
    const expected = JSON.parse(readFileSync(join(root, 'json', `${name}.json`), 'utf8')) as Record<string, string>[];
    const source = await openCsv(join(root, 'csvs', `${name}.csv`));
    const rows = await all(source);
    expect(source.headers).toEqual(Object.keys(expected[0]!));
    expect(source.warnings).toEqual([]);
    const objects = rows.map((r) => Object.fromEntries(source.headers.map((h, i) => [h, r.values[i]])));
    expect(objects).toEqual(expected);
    expect(rows.map((r) => r.row)).toEqual(expected.map((_, i) => i + 1));
  });
});

describe('reading', () => {
  it('strips the BOM and reads CRLF line endings', async () => {
    const { source, rows } = await read('\uFEFFpatientKey,name\r\nk1,Ann\r\nk2,Bob\r\n');
    expect(source.headers).toEqual(['patientKey', 'name']);
    expect(source.delimiter).toBe(',');
    expect(rows).toEqual([
      { row: 1, values: ['k1', 'Ann'] },
      { row: 2, values: ['k2', 'Bob'] },
    ]);
  });

  it('reads mixed LF and CRLF line endings, keeping CRLF inside quotes', async () => {
    const { rows } = await read('a,b\n1,2\r\n"x\r\ny",3\n4,5');
    expect(rows.map((r) => r.values)).toEqual([['1', '2'], ['x\r\ny', '3'], ['4', '5']]);
  });

  it('detects a semicolon delimiter', async () => {
    const { source, rows } = await read('a;b;c\n1,5;2;3\n');
    expect(source.delimiter).toBe(';');
    expect(source.headers).toEqual(['a', 'b', 'c']);
    expect(rows[0]!.values).toEqual(['1,5', '2', '3']);
  });

  it('detects a tab delimiter', async () => {
    const { source, rows } = await read('a\tb\n1;x\t2,y\n');
    expect(source.delimiter).toBe('\t');
    expect(rows[0]!.values).toEqual(['1;x', '2,y']);
  });

  it('detects the delimiter outside quotes only, and falls back to comma on none or a tie', () => {
    expect(detectDelimiter('"a;b;c",d,e\n1;2;3;4;5')).toBe(',');
    expect(detectDelimiter('\uFEFF\r\n\r\na;b,c;d')).toBe(';');
    expect(detectDelimiter('a;b,c')).toBe(',');
    expect(detectDelimiter('patientKey')).toBe(',');
  });

  it('reads a single-column file', async () => {
    const { source, rows } = await read('patientKey\nk1\n\nk2\n');
    expect(source.headers).toEqual(['patientKey']);
    expect(rows).toEqual([
      { row: 1, values: ['k1'] },
      { row: 2, values: ['k2'] },
    ]);
  });

  it('reads quoted values containing delimiters, doubled quotes and newlines', async () => {
    const { rows } = await read('a,b,c\n"Doe, Jane","say ""hi""","line 1\nline 2"\n');
    expect(rows[0]!.values).toEqual(['Doe, Jane', 'say "hi"', 'line 1\nline 2']);
  });

  it('keeps values as strings exactly as written', async () => {
    const { rows } = await read('zip,dob,n,note,empty\n00123,1961-04-12,1e3, spaced ,\n');
    expect(rows[0]!.values).toEqual(['00123', '1961-04-12', '1e3', ' spaced ', '']);
  });

  it('skips blank lines without counting them as rows', async () => {
    const { rows } = await read('\n\na,b\n\n1,2\n\r\n\n3,4\n\n');
    expect(rows).toEqual([
      { row: 1, values: ['1', '2'] },
      { row: 2, values: ['3', '4'] },
    ]);
  });

  it('yields no rows for a header-only file', async () => {
    const { source, rows } = await read('a,b\n');
    expect(source.headers).toEqual(['a', 'b']);
    expect(rows).toEqual([]);
  });

  it('can iterate rows() twice and get the same rows', async () => {
    const source = await openCsv(write('a,b\n1,2\n"3\n",4\n'));
    const first = await all(source);
    expect(first).toHaveLength(2);
    expect(await all(source)).toEqual(first);
  });

  it('stops reading cleanly when the caller breaks out of rows()', async () => {
    const source = await openCsv(write('a\n1\n2\n3\n'));
    for await (const r of source.rows()) {
      expect(r.row).toBe(1);
      break;
    }
    expect((await all(source)).length).toBe(3);
  });

  it('streams a 50,000-row file', async () => {
    const lines = ['patientKey,name,dob'];
    for (let i = 1; i <= 50_000; i++) lines.push(`key-${i},"Name ${i}, Jr",1970-01-01`);
    const source = await openCsv(write(lines.join('\r\n') + '\r\n'));
    let count = 0;
    let last: CsvRow | undefined;
    for await (const r of source.rows()) {
      count++;
      last = r;
    }
    expect(count).toBe(50_000);
    expect(last).toEqual({ row: 50_000, values: ['key-50000', 'Name 50000, Jr', '1970-01-01'] });
  });
});

describe('header', () => {
  it('trims spaces around header names and warns', async () => {
    const file = write('patientKey, patientName ,dob\n1,2,3\n', 'spaced.csv');
    const source = await openCsv(file);
    expect(source.headers).toEqual(['patientKey', 'patientName', 'dob']);
    expect(source.warnings).toEqual([`${file}: line 1, column "patientName": spaces around the header name were removed`]);
    expect((await all(source))[0]!.values).toEqual(['1', '2', '3']);
  });

  it('refuses a blank header name, naming its position', async () => {
    const err = await failure('a,,c\n1,2,3\n');
    expect(err.message).toMatch(/: line 1, column 2: the header name is blank/);
    expect(err.column).toBe('2');
  });

  it('refuses duplicate header names, naming both positions', async () => {
    const err = await failure('\n\nname,dob, name\n1,2,3\n');
    expect(err.message).toMatch(/: line 3, column name: is in the header twice \(columns 1 and 3\)/);
  });
});

describe('file errors', () => {
  it('refuses an empty file', async () => {
    expect((await failure('')).message).toMatch(/: the file is empty/);
  });

  it('refuses a BOM-only file', async () => {
    expect((await failure('\uFEFF')).message).toMatch(/: the file is empty/);
  });

  it('refuses a file of blank lines', async () => {
    expect((await failure('\r\n\n\n')).message).toMatch(/: the file is empty/);
  });

  it('refuses a missing file with a hint', async () => {
    const file = join(dir, 'missing.csv');
    const err = await openCsv(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsvError);
    expect((err as CsvError).message).toBe(`${file}: file not found: check the path and the file name`);
  });

  it('refuses a folder', async () => {
    const folder = join(dir, 'folder.csv');
    mkdirSync(folder);
    await expect(openCsv(folder)).rejects.toThrow(/is a folder, not a file/);
  });

  it.skipIf(process.getuid?.() === 0)('refuses an unreadable file with a hint', async () => {
    const file = write('a\n1\n');
    chmodSync(file, 0o000);
    await expect(openCsv(file)).rejects.toThrow(/cannot be read \(permission denied\): check the file permissions/);
  });

  it('notices the file changed between passes', async () => {
    const file = write('a\n1\n');
    const source = await openCsv(file);
    writeFileSync(file, 'a\n1\n2\n');
    await expect(all(source)).rejects.toThrow(/changed while it was being used/);
  });
});

describe('row errors', () => {
  it('refuses a ragged row, naming the row', async () => {
    const err = await failure('a,b,c,d,e,f\n1,2,3,4,5,6\n\n1,2,3,4,5,6\n"x\ny",2,3,4,5,6\n1,2,3,4,5\n');
    expect(err.message).toMatch(/: row 4: has 5 values but the header has 6 columns: put quotes around values/);
    expect(err.row).toBe(4);
    expect(err.line).toBe(7);
  });

  it('refuses a row with too many values', async () => {
    const err = await failure('a;b\n1;2;3\n');
    expect(err.message).toMatch(/row 1: has 3 values but the header has 2 columns.*\(semicolon\)/);
  });

  it('refuses an unclosed quote, naming the line where the row starts', async () => {
    const err = await failure('a,b\r\n1,2\r\n\r\n"open,3\r\n\r\n4,5\r\n');
    expect(err.message).toMatch(/: line 4: a quoted value in the row starting on this line is never closed: /);
    expect(err.line).toBe(4);
  });

  it('refuses a stray quote in an unquoted value, naming the line', async () => {
    const err = await failure('a,b\n"x\r\ny",2\n1,2\nJohn "J" Smith,3\n');
    expect(err.message).toMatch(/: line 5: a quote appears inside an unquoted value/);
  });

  it('refuses characters after a closing quote, naming the line', async () => {
    const err = await failure('a,b\n1,2\n"Doe" Jane,3\n');
    expect(err.message).toMatch(/: line 3: a closing quote is followed by other characters/);
  });
});

describe('UTF-8', () => {
  const hint = 'save the file as UTF-8 (in Excel: Save As → "CSV UTF-8")';

  it('refuses invalid UTF-8 in the header, naming the line and the fix', async () => {
    const err = await failure(Buffer.from('a,b\xe9\n1,2\n', 'latin1'));
    expect(err.message).toBe(`${err.file}: line 1: contains bytes that are not valid UTF-8: ${hint}`);
  });

  it('refuses invalid UTF-8 in a row, naming the line', async () => {
    const err = await failure(Buffer.concat([Buffer.from('a,b\n1,2\n\n"x\r\ny",'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
    expect(err.line).toBe(5);
  });

  it('refuses a multibyte character cut short at the end of the file', async () => {
    const err = await failure(Buffer.concat([Buffer.from('a\nok\n'), Buffer.from([0xe2, 0x82])]));
    expect(err.line).toBe(3);
  });

  it('accepts a multibyte character split across a chunk boundary', async () => {
    const filler = 'x'.repeat(CHUNK_BYTES - 6); // "a,b\n" + filler + "," puts "é" on bytes CHUNK_BYTES-1 and CHUNK_BYTES
    const file = write(`a,b\n${filler},\u00e9\n`);
    expect(readFileSync(file).indexOf(Buffer.from('\u00e9'))).toBe(CHUNK_BYTES - 1);
    expect(await all(await openCsv(file))).toEqual([{ row: 1, values: [filler, '\u00e9'] }]);
  });

  it('checks byte by byte: sequences split into one-byte chunks pass, bad ones fail with their line', async () => {
    const run = async (bytes: number[]) => {
      const out: Buffer[] = [];
      const sink = new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) });
      await pipeline(Readable.from(bytes.map((b) => Buffer.from([b]))), new Utf8Check('t.csv'), sink);
      return Buffer.concat(out);
    };
    const good = Buffer.from('a\r\n\u00e9\u20ac\ud83d\ude00\rz', 'utf8');
    expect(await run([...good])).toEqual(good);
    for (const [bytes, line] of [
      [[0x61, 0x0a, 0x0a, 0xc0, 0x80], 3], // overlong
      [[0x0d, 0xed, 0xa0, 0x80], 2], // surrogate, after a lone CR
      [[0x0d, 0x0a, 0xf4, 0x90, 0x80, 0x80], 2], // past U+10FFFF
      [[0xe2, 0x82, 0x0a], 1], // truncated by a newline
      [[0xff], 1],
    ] as const) {
      const err = await run([...bytes]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CsvError);
      expect((err as CsvError).message).toBe(`t.csv: line ${line}: contains bytes that are not valid UTF-8: ${hint}`);
    }
  });

  it('reports a bad byte late in a large file with its line', async () => {
    const lines = ['patientKey,name'];
    for (let i = 1; i <= 20_000; i++) lines.push(`k${i},n\u00e9${i}`);
    const good = Buffer.from(lines.join('\n') + '\n');
    expect(good.length).toBeGreaterThan(4 * CHUNK_BYTES);
    const err = await failure(Buffer.concat([good, Buffer.from('k,\xe9t\xe9\n', 'latin1'), Buffer.from('k,z\n')]));
    expect(err.line).toBe(20_002);
    expect(err.message).toMatch(/: line 20002: contains bytes that are not valid UTF-8/);
  });
});

describe('privacy', () => {
  it('keeps cell values out of every error message', async () => {
    const secret = ['Zelda Quintrell', '1961-04-12', 'Qx77'];
    const cases = [
      `key,name,dob\nQx77,Zelda Quintrell,1961-04-12,extra\n`,
      `key,name,dob\nQx77,"Zelda Quintrell,1961-04-12\n`,
      `key,name,dob\nQx77,Zelda "Quintrell",1961-04-12\n`,
      `key,name,dob\nQx77,"Zelda" Quintrell,1961-04-12\n`,
      Buffer.concat([Buffer.from('key,name,dob\nQx77,Zelda Quintrell,1961-04-12'), Buffer.from([0xff])]),
    ];
    for (const content of cases) {
      const err = await failure(content);
      for (const value of secret) expect(err.message).not.toContain(value);
    }
  });
});
