/**
 * `init`, in process: it writes the starter project (files 0600, folders 0700, whatever the umask),
 * never overwrites, never follows a symlink, refuses what is in the way before writing anything;
 * the starter's sample matches its config and the bundled sandbox directory; and an empty folder's
 * "templates folder not found" points to init. Symlinks are planted in temporary folders only.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InitRefusedError, STARTER_DIR, initProject, starterEntries } from '../src/init/index.js';
import { UnsafePathError } from '../src/fsutil.js';
import { TemplateSet } from '../src/templates/index.js';
import { openCsv } from '../src/input/csv.js';
import { ROOT, tempDir } from './support/cli.js';

const mode = (p: string) => statSync(p).mode & 0o777;

const FILES = [
  '.env.example',
  'canvas-letters.config.json',
  'patients.csv',
  'templates/letter.hbs',
  'templates/styles.css',
  'templates/images/signature.png',
  'templates/partials/letterhead.hbs',
];

let dir: string;
let oldUmask: number;
beforeEach(() => {
  dir = join(tempDir('cl-init-'), 'project');
  oldUmask = process.umask(0);
});
afterEach(() => {
  process.umask(oldUmask);
});

const starterBytes = (rel: string) => readFileSync(join(STARTER_DIR, rel));

/** A file outside the project that a planted symlink points at. */
function victim(): string {
  const file = join(dir, '..', 'victim.txt');
  writeFileSync(file, 'keep me\n');
  chmodSync(file, 0o644);
  return file;
}

/** The error `fn` throws. */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('init', () => {
  it('writes every starter file, byte for byte, 0600 in 0700 folders (.env.example too), and makes the missing folder', () => {
    const result = initProject(dir);
    expect(result).toEqual({ dir, createdDir: true, written: FILES, skipped: [] });
    for (const rel of FILES) {
      expect(readFileSync(join(dir, rel)).equals(starterBytes(rel)), rel).toBe(true);
      expect([rel, mode(join(dir, rel))]).toEqual([rel, 0o600]);
    }
    for (const folder of ['', 'templates', 'templates/images', 'templates/partials']) expect(mode(join(dir, folder))).toBe(0o700);
    expect(mode(join(dir, '.env.example'))).toBe(0o600);
  });

  it('lists the starter files in each folder before its subfolders, and every file it ships', () => {
    expect(starterEntries().filter((e) => e.kind === 'file').map((e) => e.rel)).toEqual(FILES);
  });

  it('a second run writes nothing and lists every file as skipped', () => {
    initProject(dir);
    const before = FILES.map((rel) => statSync(join(dir, rel)).mtimeMs);
    expect(initProject(dir)).toEqual({ dir, createdDir: false, written: [], skipped: FILES });
    expect(FILES.map((rel) => statSync(join(dir, rel)).mtimeMs)).toEqual(before);
  });

  it('keeps an existing file byte for byte, with its mode, and writes the rest', () => {
    mkdirSync(join(dir, 'templates'), { recursive: true });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'templates', 'letter.hbs'), 'my own letter\n');
    chmodSync(join(dir, 'templates', 'letter.hbs'), 0o644);
    const result = initProject(dir);
    expect(result.skipped).toEqual(['templates/letter.hbs']);
    expect(result.written).toEqual(FILES.filter((f) => f !== 'templates/letter.hbs'));
    expect(result.createdDir).toBe(false);
    expect(readFileSync(join(dir, 'templates', 'letter.hbs'), 'utf8')).toBe('my own letter\n');
    expect(mode(join(dir, 'templates', 'letter.hbs'))).toBe(0o644);
    expect(mode(dir)).toBe(0o755); // a folder that was there keeps its mode
  });

  it('refuses a symlink planted at a target, leaves what it points to untouched, and writes nothing', () => {
    mkdirSync(dir);
    const target = victim();
    symlinkSync(target, join(dir, '.env.example'));
    const err = caught(() => initProject(dir));
    expect(err).toBeInstanceOf(InitRefusedError);
    expect((err as InitRefusedError).refused).toEqual([{ path: '.env.example', why: 'is a symbolic link' }]);
    expect((err as InitRefusedError).exitCode).toBe(2);
    expect((err as Error).message).toContain('.env.example is a symbolic link');
    expect(readFileSync(target, 'utf8')).toBe('keep me\n');
    expect(mode(target)).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['.env.example']);
  });

  it('refuses a file in place of a folder and a symlinked folder, naming each once, and writes nothing', () => {
    mkdirSync(join(dir, 'elsewhere'), { recursive: true });
    writeFileSync(join(dir, 'templates'), 'not a folder\n');
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'patients.csv'));
    const err = caught(() => initProject(dir));
    expect(err).toBeInstanceOf(InitRefusedError);
    expect((err as InitRefusedError).refused).toEqual([
      { path: 'patients.csv', why: 'is a symbolic link' },
      { path: 'templates', why: 'is a file, not a folder' },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['elsewhere', 'patients.csv', 'templates']);
    expect(readdirSync(join(dir, 'elsewhere'))).toEqual([]);
    expect(readFileSync(join(dir, 'templates'), 'utf8')).toBe('not a folder\n');
  });

  it('refuses a symlinked templates folder without writing into what it points to', () => {
    mkdirSync(dir);
    const real = join(dir, '..', 'real-templates');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'templates'));
    expect(() => initProject(dir)).toThrow(/templates is a symbolic link/);
    expect(readdirSync(real)).toEqual([]);
  });

  it('refuses a [dir] that is a symlink or a file', () => {
    const real = join(dir, '..', 'real');
    mkdirSync(real);
    symlinkSync(real, dir);
    expect(() => initProject(dir)).toThrow(UnsafePathError);
    expect(readdirSync(real)).toEqual([]);
    const file = join(dir, '..', 'a-file');
    writeFileSync(file, 'x');
    expect(() => initProject(file)).toThrow(/is a file, not a folder/);
  });
});

describe('the starter project', () => {
  interface StarterConfig {
    templatesDir: string;
    provider: string;
    location: string;
    map: Record<string, string>;
    jobs: Record<string, { template: string }>;
  }
  const config = JSON.parse(readFileSync(join(STARTER_DIR, 'canvas-letters.config.json'), 'utf8')) as StarterConfig;

  it('maps every field of its config to a column of its sample CSV, and its job names its template', async () => {
    const csv = await openCsv(join(STARTER_DIR, 'patients.csv'));
    for (const column of Object.values(config.map)) expect(csv.headers).toContain(column);
    const set = TemplateSet.load(join(STARTER_DIR, config.templatesDir));
    expect(set.list()).toEqual([config.jobs.letter!.template]);
    const fields = set.get('letter').fields;
    for (const field of [...fields.required, ...fields.optional]) expect(Object.keys(config.map)).toContain(field);
  });

  it("uses the bundled sandbox directory's patient, provider and location keys (so send --known-keys succeeds)", async () => {
    const directory = JSON.parse(readFileSync(join(ROOT, 'samples', 'sandbox-directory.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    const csv = await openCsv(join(STARTER_DIR, 'patients.csv'));
    const keyColumn = csv.headers.indexOf(config.map.patientKey!);
    let rows = 0;
    for await (const row of csv.rows()) {
      expect(Object.keys(directory.Patient!)).toContain(row.values[keyColumn]);
      rows++;
    }
    expect(rows).toBeGreaterThan(1);
    expect(Object.keys(directory.Practitioner!)).toContain(config.provider);
    expect(Object.keys(directory.Location!)).toContain(config.location);
  });

  it('ships a small placeholder PNG signature and a .env.example pointing at the sandbox', () => {
    const png = starterBytes('templates/images/signature.png');
    expect(png.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]))).toBe(true);
    expect(png.length).toBeLessThan(2000);
    const env = starterBytes('.env.example').toString('utf8');
    expect(env).toMatch(/^CANVAS_BASE_URL=http:\/\/127\.0\.0\.1:8787$/m);
    expect(env).toMatch(/^CANVAS_CLIENT_ID=sandbox-client$/m);
    expect(env).toMatch(/^CANVAS_CLIENT_SECRET=sandbox-secret$/m);
  });
});

describe('no project here', () => {
  it('a missing templates folder points to init', () => {
    const missing = join(dir, 'templates');
    expect(existsSync(missing)).toBe(false);
    expect(() => TemplateSet.load(missing)).toThrow(
      `templates folder not found: ${missing}; run canvas-letters init to start a project here, or give --templates-dir`,
    );
  });
});
