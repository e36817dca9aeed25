/** Template helpers: dates, case, default, image (data: URIs confined to the templates folder). */
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDateValue, HelperError, NOT_A_DATE, parseCalendarDate, todayValue } from '../src/templates/dates.js';
import { defaultValue, ImageStore, KNOWN_HELPERS, registerHelpers, titleCase } from '../src/templates/helpers.js';
import { HELPER_NAMES } from '../src/templates/index.js';
import { PNG, removeTemplatesDirs, templatesDir } from './fixtures/templates-unit/folder.js';

afterAll(removeTemplatesDirs);

describe('formatDate', () => {
  it('formats long (default), short, medium and iso', () => {
    expect(formatDateValue('2026-11-29')).toBe('November 29, 2026');
    expect(formatDateValue('2026-11-29', 'long')).toBe('November 29, 2026');
    expect(formatDateValue('2026-11-29', 'short')).toBe('11/29/2026');
    expect(formatDateValue('2026-11-29', 'medium')).toBe('Nov 29, 2026');
    expect(formatDateValue('2026-11-29', 'iso')).toBe('2026-11-29');
  });

  it('accepts MM/DD/YYYY, with one-digit month and day', () => {
    expect(formatDateValue('11/29/2026', 'iso')).toBe('2026-11-29');
    expect(formatDateValue('1/5/2026', 'iso')).toBe('2026-01-05');
    expect(formatDateValue(' 2026-11-29 ', 'iso')).toBe('2026-11-29');
  });

  it('never shifts the day with the time zone: 2026-01-01 stays January 1', () => {
    expect(formatDateValue('2026-01-01')).toBe('January 1, 2026');
    expect(formatDateValue('01/01/2026', 'short')).toBe('01/01/2026');
    expect(formatDateValue('2026-12-31', 'medium')).toBe('Dec 31, 2026');
  });

  it('formats in another locale when asked', () => {
    expect(formatDateValue('2026-11-29', 'long', 'es-US')).toBe('29 de noviembre de 2026');
  });

  it('gives "" for an empty value', () => {
    expect(formatDateValue('')).toBe('');
    expect(formatDateValue('   ')).toBe('');
    expect(formatDateValue(undefined)).toBe('');
  });

  it.each(['2026-02-30', '2026-13-01', '13/01/2026', '02/29/2027', '2026-1-1', 'tomorrow', '2026-11-29T10:00', '0000-01-01'])(
    'refuses %j without quoting it',
    (value) => {
      expect(() => formatDateValue(value)).toThrow(HelperError);
      expect(() => formatDateValue(value)).toThrow(NOT_A_DATE);
      try {
        formatDateValue(value);
      } catch (err) {
        expect((err as Error).message).toBe('formatDate: value is not a date (expected YYYY-MM-DD or MM/DD/YYYY)');
      }
    },
  );

  it('accepts 29 February in a leap year only', () => {
    expect(parseCalendarDate('2028-02-29')).toEqual({ year: 2028, month: 2, day: 29 });
    expect(parseCalendarDate('2026-02-29')).toBeUndefined();
  });

  it('refuses an unknown format or an invalid locale by name of helper', () => {
    expect(() => formatDateValue('2026-11-29', 'fancy')).toThrow('formatDate: unknown format');
    expect(() => formatDateValue('2026-11-29', 'long', 'not a locale!')).toThrow('formatDate: locale');
  });
});

describe('today', () => {
  it('uses the local date of the process, in any format', () => {
    const now = new Date(2026, 0, 1, 23, 59); // local time, late in the day
    expect(todayValue(undefined, undefined, now)).toBe('January 1, 2026');
    expect(todayValue('iso', undefined, now)).toBe('2026-01-01');
    expect(todayValue('short', 'en-US', now)).toBe('01/01/2026');
  });

  it('defaults to now', () => {
    const d = new Date();
    const iso = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    expect(todayValue('iso')).toBe(iso);
  });
});

describe('upper, lower, titleCase, default', () => {
  it('titleCase handles apostrophes, hyphens and accents', () => {
    expect(titleCase("O'BRIEN")).toBe("O'Brien");
    expect(titleCase('jean-luc picard')).toBe('Jean-Luc Picard');
    expect(titleCase("JOHN'S")).toBe("John's");
    expect(titleCase('ÉLODIE DE LA CROIX')).toBe('Élodie De La Croix');
    expect(titleCase('3RD STREET')).toBe('3rd Street');
    expect(titleCase('')).toBe('');
  });

  it('default returns the value when it has text, else the fallback', () => {
    expect(defaultValue('Bob', 'friend')).toBe('Bob');
    expect(defaultValue('', 'friend')).toBe('friend');
    expect(defaultValue('   ', 'friend')).toBe('friend');
    expect(defaultValue(undefined, 'friend')).toBe('friend');
  });

  it('helper output is escaped by Handlebars like any value', () => {
    const hb = Handlebars.create();
    registerHelpers(hb, new ImageStore(templatesDir()));
    const t = hb.compile('{{upper a}}|{{lower b}}|{{titleCase c}}|{{default d "<i>"}}', { strict: true, knownHelpers: KNOWN_HELPERS });
    expect(t({ a: '<b>', b: 'Ä&B', c: "o'neil", d: '' })).toBe('&lt;B&gt;|ä&amp;b|O&#x27;Neil|&lt;i&gt;');
  });

  it('strict mode throws for a bare missing {{field}} but not for helper arguments (so render checks them)', () => {
    const hb = Handlebars.create();
    registerHelpers(hb, new ImageStore(templatesDir()));
    const options = { strict: true, knownHelpers: KNOWN_HELPERS };
    expect(() => hb.compile('{{nickname}}', options)({})).toThrow(/"nickname" not defined/);
    expect(hb.compile('{{default nickname "friend"}}|{{upper last}}', options)({})).toBe('friend|');
    // {{today}} has no arguments: known helpers are called as helpers, never read from the row.
    expect(hb.compile('{{today "iso"}}', options)({ today: 'x' })).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(hb.compile('{{today}}', options)({ today: 'x' })).not.toBe('x');
  });

  it('HELPER_NAMES lists the Handlebars built-ins and ours', () => {
    for (const name of ['if', 'unless', 'each', 'with', 'lookup', 'log', 'blockHelperMissing', 'helperMissing']) {
      expect(HELPER_NAMES).toContain(name);
    }
    for (const name of ['today', 'formatDate', 'upper', 'lower', 'titleCase', 'default', 'image']) {
      expect(HELPER_NAMES).toContain(name);
    }
  });
});

describe('image', () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg"/>';
  const dir = templatesDir({ 'images/sig.png': PNG, 'images/logo.svg': svg, 'photo.JPG': PNG, 'notes.txt': 'x' });
  writeFileSync(join(dir, '..', 'outside.png'), PNG);
  symlinkSync(join(dir, '..', 'outside.png'), join(dir, 'images', 'escape.png'));
  symlinkSync(join(dir, 'images', 'sig.png'), join(dir, 'images', 'inside-link.png'));
  const store = new ImageStore(dir);
  const base64 = Buffer.from(PNG).toString('base64');

  it('returns a data: URI with the right type', () => {
    expect(store.dataUri('images/sig.png')).toBe(`data:image/png;base64,${base64}`);
    expect(store.dataUri('photo.JPG')).toBe(`data:image/jpeg;base64,${base64}`);
    expect(store.dataUri('images/logo.svg')).toBe(`data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`);
    expect(store.dataUri('images/inside-link.png')).toBe(`data:image/png;base64,${base64}`);
  });

  it.each([
    ['../outside.png', 'outside the templates folder'],
    ['images/../../outside.png', 'outside the templates folder'],
    [resolve(dir, 'images/sig.png'), 'absolute paths are not allowed'],
    ['images/escape.png', 'outside the templates folder'],
    ['notes.txt', 'unsupported file type'],
    ['images/missing.png', 'file not found'],
    ['', 'no file name given'],
  ])('refuses %j (%s) without quoting the path', (path, problem) => {
    expect(() => store.dataUri(path)).toThrow(HelperError);
    expect(() => store.dataUri(path)).toThrow(problem);
    try {
      store.dataUri(path);
    } catch (err) {
      if (path) expect((err as Error).message).not.toContain(path);
    }
  });

  it('reads each file once and caches it', () => {
    const d = templatesDir({ 'a.gif': PNG });
    const s = new ImageStore(d);
    const first = s.dataUri('a.gif');
    rmSync(join(d, 'a.gif'));
    expect(s.dataUri('a.gif')).toBe(first);
  });

  it('is not escaped by Handlebars (SafeString)', () => {
    const hb = Handlebars.create();
    registerHelpers(hb, new ImageStore(dir));
    const t = hb.compile('<img src="{{image p}}">', { strict: true, knownHelpers: KNOWN_HELPERS });
    expect(t({ p: 'images/sig.png' })).toBe(`<img src="data:image/png;base64,${base64}">`);
  });
});
