/**
 * Inlining the CSS into a template once instead of into every letter: the letters must be the
 * same, byte for byte, as inlining each rendered letter (today's per-letter path, computed here
 * as inlineCss(render(row), css)); templates where the merge could change what the styles apply
 * to must be detected and inlined per letter.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { inlineCss } from '../src/templates/inline.js';
import { type LoadedTemplate, TemplateSet } from '../src/templates/index.js';
import { sameShape, scanHtml } from '../src/templates/html-scan.js';
import { selectorNeeds } from '../src/templates/inline-once/selectors.js';
import { PNG, removeTemplatesDirs, templatesDir } from './fixtures/templates-unit/folder.js';

afterAll(removeTemplatesDirs);

const ROOT = join(import.meta.dirname, '..');
const NASTY = ['', 'Ann', `<script>alert("x")</script> & O'Brien`, '{{c}} JUICE_CODE_BLOCK_0_ hbsmark0q <%= x %>', 'two\nlines  '];

/** The letter, or the error message: both paths must fail alike too. */
function outcome(run: () => string): string {
  try {
    return run();
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** Today's per-letter path: render, then inline the letter (a juice failure becomes one message). */
function perLetter(t: LoadedTemplate, css: string, data: Record<string, string>): string {
  const html = t.render(data);
  try {
    return inlineCss(html, css);
  } catch {
    throw new Error('inlining the CSS failed');
  }
}

/** renderLetter and the per-letter path give the same letter (or the same error) for `data`. */
function expectSame(t: LoadedTemplate, css: string, data: Record<string, string>): void {
  expect(outcome(() => t.renderLetter(data))).toBe(outcome(() => perLetter(t, css, data)));
}

/** Every combination of NASTY values for `fields` (5^n rows). */
function rows(fields: string[]): Record<string, string>[] {
  return fields.reduce<Record<string, string>[]>((acc, f) => acc.flatMap((row) => NASTY.map((v) => ({ ...row, [f]: v }))), [{}]);
}

function template(files: Record<string, string | Uint8Array>): LoadedTemplate {
  return TemplateSet.load(templatesDir({ 'i.png': PNG, ...files })).get('t');
}

describe('the bundled templates and samples', () => {
  const set = TemplateSet.load(join(ROOT, 'templates'));
  const read = (file: string) => readFileSync(join(ROOT, 'templates', file), 'utf8');
  const own: Record<string, string> = { 'jury-duty': read('jury-duty.css'), 'school-note': '' };

  it.each(['jury-duty', 'school-note'])('%s is inlined once and gives the same letters as inlining each letter', (name) => {
    const t = set.get(name);
    expect(t.inlining).toBe('once');
    expect(t.inliningReason).toBeUndefined();
    const css = own[name] ? `${read('styles.css')}\n${own[name]}` : read('styles.css');
    const samples: Record<string, string>[] = parse(readFileSync(join(ROOT, 'samples', `${name}.csv`)), { columns: true, bom: true });
    expect(samples.length).toBeGreaterThan(5);
    for (const row of samples) {
      expectSame(t, css, row);
      expect(t.renderLetter(row)).toContain('style="');
      // Every optional field empty, then every text (non-date) field made of awkward characters.
      expectSame(t, css, { ...row, ...Object.fromEntries(t.fields.optional.map((f) => [f, ''])) });
      for (const value of NASTY.slice(2)) {
        const nasty = Object.entries(row).map(([k, v]) => [k, /^\d{4}-\d\d-\d\d$/.test(v) ? v : value]);
        expectSame(t, css, Object.fromEntries(nasty));
      }
    }
  });
});

describe('templates inlined per letter, because the merge can change what the styles apply to', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['a merged class', { 't.hbs': '<p class="{{c}}">x</p>' }, /{{c}} \(t\.hbs, line 1\) in the class attribute of <p>/],
    ['a class chosen by #if', { 't.hbs': '<p class="{{#if c}}x{{else}}y{{/if}}">t</p>' }, /{{#if c}} .* in the class attribute/],
    ['a class attribute inside #if', { 't.hbs': '<p {{#if c}}class="x"{{/if}}>t</p>' }, /inside the <p> tag, outside an attribute value/],
    ['a merged id', { 't.hbs': '<p id="{{c}}">t</p>' }, /in the id attribute/],
    ['a merged style attribute', { 't.hbs': '<p class="x" style="color: {{c}}">t</p>' }, /in the style attribute/],
    ['a start tag chosen by #if', { 't.hbs': '{{#if c}}<div class="x">{{else}}<div class="y">{{/if}}t</div>' }, /has its {{else}} in different places/],
    ['sibling combinator +', { 't.hbs': '<div>{{#if c}}<p class="x">a</p>{{/if}}<p>b</p></div>', 'styles.css': '.x + p { color: red }' }, /adds or removes elements and the selector ".x \+ p"/],
    ['sibling combinator ~', { 't.hbs': '<div>{{#if c}}<p class="x">a</p>{{/if}}<p>b</p></div>', 'styles.css': '.x ~ p { color: red }' }, /depends on sibling elements/],
    [':first-child', { 't.hbs': '<div>{{#unless c}}<p>a</p>{{/unless}}<p>b</p></div>', 'styles.css': 'p:first-child { color: red }' }, /\(:first-child\)/],
    [':nth-child in a <style> block', { 't.hbs': '<style>li:nth-child(2) { color: red }</style><ul>{{#if c}}<li>a</li>{{/if}}<li>b</li><li>c</li></ul>' }, /\(:nth-child\)/],
    ['a mustache in a <style> block', { 't.hbs': '<style>.x { color: {{c}} }</style><p class="x">t</p>' }, /{{c}} .* inside a <style> block/],
    ['a <style> block inside #if', { 't.hbs': '{{#if c}}<style>.x { color: red }</style>{{/if}}<p class="x">t</p>' }, /a <style> block inside {{#if c}}/],
    [':empty', { 't.hbs': '<p>{{c}}</p>', 'styles.css': 'p:empty { display: none }' }, /selector "p:empty" \(:empty\) could depend on the merged content/],
    ['an attribute a selector tests', { 't.hbs': '<a href="https://e.com/{{c}}">l</a>', 'styles.css': 'a[href$=".pdf"] { color: red }' }, /in the href attribute, which a CSS selector tests/],
    ['an attribute that can be empty', { 't.hbs': '<img src="i.png" alt="{{#if c}}{{c}}{{/if}}">' }, /the alt attribute of <img> could be empty/],
    ['an unquoted attribute', { 't.hbs': '<p title=a{{c}}>t</p>' }, /unquoted title attribute/],
    ['a mustache in an HTML comment', { 't.hbs': '<!-- {{c}} --><p>t</p>' }, /inside an HTML comment/],
    ['<head> inside #if', { 't.hbs': '{{#if c}}<html><head></head>{{/if}}<p class="x">t</p>' }, /where the stylesheet goes/],
    ['HTML the parser repairs', { 't.hbs': '<p class="x">a <div>b</div> {{c}}</p>' }, /parser reads the template differently/],
    ['an indented partial', { 't.hbs': '<div>\n  {{> p}}\n</div>', 'partials/p.hbs': '<p>{{c}}</p>' }, /{{> p}} is indented \(t\.hbs, line 2\)/],
  ];

  it.each(cases)('%s', (_label, files, reason) => {
    const css = files['styles.css'] ?? '.x { color: red } .y { color: blue } p { margin: 0 }';
    const t = template({ 'styles.css': css, ...files });
    expect(t.inlining).toBe('per-letter');
    expect(t.inliningReason).toMatch(reason);
    for (const data of rows(['c'])) expectSame(t, css, data);
  });

  it('per letter, each letter gets the styles its own merge calls for', () => {
    const t = template({ 't.hbs': '<p class="{{c}}">t</p>', 'styles.css': '.x { color: red }' });
    expect(t.renderLetter({ c: 'x' })).toBe('<p class="x" style="color: red;">t</p>');
    expect(t.renderLetter({ c: 'y' })).toBe('<p class="y">t</p>');
    const s = template({ 't.hbs': '<div>{{#if c}}<p class="x">a</p>{{/if}}<p>b</p></div>', 'styles.css': 'p:first-child { color: red }' });
    expect(s.renderLetter({ c: '' })).toBe('<div><p style="color: red;">b</p></div>');
    expect(s.renderLetter({ c: '1' })).toBe('<div><p class="x" style="color: red;">a</p><p>b</p></div>');
    const e = template({ 't.hbs': '<img src="i.png" alt="{{default c ""}}">', 'styles.css': '' });
    expect(e.inlining).toBe('per-letter');
    expect(e.renderLetter({ c: '' })).toBe('<img src="i.png" alt>');
    expect(e.renderLetter({ c: 'A' })).toBe('<img src="i.png" alt="A">');
  });
});

describe('templates inlined once', () => {
  const base = '.sig .name { font-weight: 600 } .sig p { margin: 0 } .none { color: gray } p:not(.x) { padding: 0 } a:hover { color: red } .body strong { color: #123 }';
  const cases: [string, Record<string, string>, string[]][] = [
    ['elements inside #if/else styled by descendant selectors', { 't.hbs': '<div class="sig">{{#if c}}<p class="name">{{c}}</p>{{else}}<p class="none">none</p>{{/if}}</div>' }, ['c']],
    ['a sibling combinator when blocks hold only text', { 't.hbs': '<p class="x">a</p><p>{{#if c}}yes {{c}}{{else}}no{{/if}}</p>', 'styles.css': `${base} .x + p { color: red } p:first-child { margin: 1px }` }, ['c']],
    ['a selector spanning the template and a partial', { 't.hbs': '<div class="sig">\n{{> name}}\n</div>', 'partials/name.hbs': '<p class="name">{{c}}</p>\n<p>{{d}}</p>' }, ['c', 'd']],
    ['a full document with a merged <title> and media queries', { 't.hbs': '<!doctype html>\n<html><head><title>For {{c}}</title><style>p { margin: 1px } @media print { p { margin: 0 !important } }</style></head>\n<body class="body"><p>{{c}} <strong>{{d}}</strong></p></body></html>\n' }, ['c', 'd']],
    ['attributes that are only a required field', { 't.hbs': '<p title="{{c}}" data-x="{{upper d}}">{{c}}</p>' }, ['c', 'd']],
    ['merged attribute values with static text, and {{image}}', { 't.hbs': '<div class="sig"><img src="{{image "i.png"}}" alt="Signature of {{c}}" title="{{#if d}}by {{d}}{{/if}} ok"><p class="name">{{upper c}}</p></div>' }, ['c', 'd']],
    ['whitespace control: standalone lines, ~, comments, else if', { 't.hbs': '{{!-- note --}}\n<div class="sig">\n  {{#if c}}\n  <p class="name">  {{~c~}}  </p>\n  {{else if d}}\n  <p>{{d}}</p>\n  {{else}}\n  <p class="none">-</p>\n  {{/if}}\n</div>\n' }, ['c', 'd']],
    ['#unless around elements, with a <style> block after it', { 't.hbs': '<div class="body">{{#unless c}}<strong>{{d}}</strong>{{/unless}}</div>\n<style>.body strong { font-style: italic }</style>' }, ['c', 'd']],
  ];

  it.each(cases)('%s', (_label, files, fields) => {
    const css = files['styles.css'] ?? base;
    const t = template({ 'styles.css': css, ...files });
    expect(t.inliningReason).toBeUndefined();
    expect(t.inlining).toBe('once');
    for (const data of rows(fields)) expectSame(t, css, data);
  });

  it('still escapes <script>, & and quotes in values', () => {
    const t = template({ 't.hbs': '<p title="a {{first}}">{{first}}</p>', 'styles.css': 'p { color: red }' });
    expect(t.inlining).toBe('once');
    const out = t.renderLetter({ first: `<script>alert("x")</script> & O'Brien` });
    const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; O&#x27;Brien';
    expect(out).toBe(`<p title="a ${escaped}" style="color: red;">${escaped}</p>`);
  });

  it('keeps remote-image warnings and only the media-query <style> block', () => {
    const t = template({
      't.hbs': '<html><head><style>.c { color: blue } @media print { p { color: black } }</style></head><body><p class="c">{{x}}</p><img src="https://cdn.example.com/logo.png"></body></html>',
      'styles.css': 'p { margin: 0 }',
    });
    expect(t.inlining).toBe('once');
    expect(t.warnings).toEqual([expect.stringMatching(/^template t: remote image https:\/\/cdn\.example\.com\/logo\.png in /)]);
    const out = t.renderLetter({ x: 'X' });
    expect(out).toContain('<p class="c" style="margin: 0; color: blue;">X</p>');
    expect([...out.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!.trim())).toEqual([expect.stringMatching(/^@media print/)]);
  });

  it('fails like render does: missing fields, helper errors', () => {
    const t = template({ 't.hbs': '<p>{{name}} {{formatDate dob}}</p>', 'styles.css': 'p { margin: 0 }' });
    expect(t.inlining).toBe('once');
    expect(() => t.renderLetter({ dob: '2020-01-01' })).toThrow('required field missing or empty: name');
    expect(() => t.renderLetter({ name: 'A', dob: 'soon' })).toThrow('field dob: formatDate: value is not a date');
    expect(t.renderLetter({ name: 'A', dob: '2020-01-01' })).toBe('<p style="margin: 0;">A January 1, 2020</p>');
  });
});

describe('random templates (seeded): whichever path is chosen, the letters are the same', () => {
  let seed = 20261129;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const SELECTORS = ['.x', 'p', 'div .y', '.x > p', '.z strong', '.x + p', 'span ~ em', 'p:first-child', '[title]', ':not(.x)', 'em:empty', 'a:hover'];
  const attrs = () => pick(['', ' class="x"', ' class="y"', ' class="z"', ' title="t {{a}}"', ' title="{{#if b}}{{b}}{{/if}}"', ' class="{{a}}"']);
  const content = (depth: number): string => {
    let out = '';
    for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) {
      const r = rnd();
      const tag = pick(['div', 'p', 'span', 'strong', 'em']);
      if (r < 0.3) out += pick(['{{a}} ', 'x {{upper b}}', '{{~c}}', '{{default d "-"}}\n', '&amp; ']);
      else if (r < 0.55 && depth < 3) out += `<${tag}${attrs()}>${content(depth + 1)}</${tag}>${pick(['', '\n'])}`;
      else if (r < 0.8 && depth < 3) {
        const f = pick(['a', 'b', 'c', 'd']);
        out += `${pick(['', '\n'])}{{#if ${f}}}${pick(['', '\n'])}${content(depth + 1)}${rnd() < 0.4 ? `{{else}}${content(depth + 1)}` : ''}{{/if}}${pick(['', '\n'])}`;
      } else out += pick(['{{> part}}', '\n{{> part}}\n', '<br>', '{{!-- note --}}\n']);
    }
    return out;
  };

  it('60 templates × 16 rows', () => {
    const paths = { once: 0, 'per-letter': 0 };
    for (let k = 0; k < 60; k++) {
      const css = SELECTORS.filter(() => rnd() < 0.3).map((sel, i) => `${sel} { margin-left: ${i}px }`).join('\n');
      const style = `<style>${pick(SELECTORS)} { color: red } @media print { p { color: black !important } }</style>`;
      const body = content(0);
      const doc = pick([`<!doctype html>\n<html><head>${style}</head>\n<body>\n${body}</body></html>\n`, `${style}${body}`, body]);
      const t = template({ 't.hbs': doc, 'styles.css': css, 'partials/part.hbs': pick(['<p class="y">{{b}}</p>', '{{#if d}}<em>{{d}}</em>{{/if}}']) });
      paths[t.inlining]++;
      for (let j = 0; j < 16; j++) {
        const row = Object.fromEntries(['a', 'b', 'c', 'd'].map((f, i) => [f, (j >> i) & 1 ? pick([...NASTY.slice(1), 'x', 'y z']) : '']));
        expectSame(t, css, row);
      }
    }
    expect(paths.once).toBeGreaterThan(10);
    expect(paths['per-letter']).toBeGreaterThan(10);
  });
});

describe('the scans behind the decision', () => {
  it('selectorNeeds finds tested attributes, sibling and content-dependent selectors', () => {
    const needs = selectorNeeds(['.a .b', 'a[href^="x"]', '[data-x]', 'p:lang(en)', 'a:hover', 'p::before']);
    expect([...needs.attributes].sort()).toEqual(['data-x', 'href', 'lang']);
    expect(needs.structural).toBeUndefined();
    expect(needs.unsafe).toBeUndefined();
    expect(selectorNeeds(['h1 + p']).structural).toMatch(/sibling/);
    expect(selectorNeeds(['li:nth-of-type(2n+1)']).structural).toMatch(/nth-of-type/);
    expect(selectorNeeds(['div:has(p)']).unsafe).toMatch(/:has/);
  });

  it('scanHtml tells text, attribute values and raw text apart; sameShape sees repairs', () => {
    const events = scanHtml('<p title="a>b" x=1>t<br/></p><style>p>a{}</style><!-- c -->')!;
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'start', 'end', 'start', 'raw', 'end', 'other']);
    expect(events[0]).toMatchObject({ name: 'p', attrs: [{ name: 'title', value: 'a>b', quote: '"' }, { name: 'x', value: '1', quote: '' }] });
    expect(sameShape('<p>a</p>', '<p style="x">a</p>')).toBe(true);
    expect(sameShape('<p>a<div>b</div></p>', '<p>a</p><div>b</div><p></p>')).toBe(false);
  });
});
