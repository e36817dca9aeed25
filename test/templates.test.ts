/** TemplateSet: loading, field analysis, refused constructs, strict rendering, escaping, styles. */
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RenderError, TemplateError, UsageError } from '../src/errors.js';
import { TEMPLATE_NAME, TemplateSet } from '../src/templates/index.js';
import { PNG, removeTemplatesDirs, templatesDir } from './fixtures/templates-unit/folder.js';

afterAll(removeTemplatesDirs);

/** Load a folder holding `files` and get template `name` (default: the only "t.hbs"). */
function template(files: Record<string, string | Uint8Array>, name = 't') {
  return TemplateSet.load(templatesDir(files)).get(name);
}

/** The error thrown by `run`, which must be a `type`. */
function failure<E extends Error>(type: new (...args: never[]) => E, run: () => unknown): E {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error('expected an error');
}

describe('TemplateSet.load / list / has / get', () => {
  const dir = templatesDir({ 'b.hbs': 'B', 'a-1.hbs': 'A', 'bad name.hbs': 'x', 'partials/p.hbs': 'P', 'styles.css': '' });
  const set = TemplateSet.load(dir);

  it('lists templates (not partials, not invalid names), sorted', () => {
    expect(set.dir).toBe(dir);
    expect(set.list()).toEqual(['a-1', 'b']);
    expect(set.has('b')).toBe(true);
    expect(set.has('p')).toBe(false);
    expect(set.has('../b')).toBe(false);
    expect(set.has('bad name')).toBe(false);
  });

  it('compiles a template once and returns the same object', () => {
    expect(set.get('b')).toBe(set.get('b'));
    expect(set.get('b').file).toBe(join(dir, 'b.hbs'));
  });

  it('refuses an invalid name without echoing it, and a missing one listing the templates', () => {
    expect(failure(UsageError, () => set.get('../secret')).message).not.toContain('secret');
    expect(failure(UsageError, () => set.get('nope')).message).toContain('templates found: a-1, b');
    expect(TEMPLATE_NAME.test('x'.repeat(64))).toBe(true);
    expect(TEMPLATE_NAME.test('x'.repeat(65))).toBe(false);
  });

  it('refuses a missing folder with a UsageError', () => {
    failure(UsageError, () => TemplateSet.load(join(dir, 'missing')));
  });

  it('reads no file when rendering: everything is read on load/get', () => {
    const d = templatesDir({ 't.hbs': '<style>p{color:red}</style>{{> p}}<p>{{x}}</p>', 'partials/p.hbs': '[{{y}}]', 't.css': 'p{margin:0}' });
    const t = TemplateSet.load(d).get('t');
    rmSync(d, { recursive: true });
    expect(t.inlining).toBe('once'); // the CSS was inlined into the template on get()
    expect(t.renderLetter({ x: '1', y: '2' })).toBe('[2]<p style="margin: 0; color: red;">1</p>');
  });
});

describe('fields from the syntax tree', () => {
  it('sorts required and optional fields, following partials transitively', () => {
    const t = template({
      't.hbs': '{{> head}}{{first}} {{upper last}} {{formatDate dob "long"}}{{#if vip}}VIP{{else if member}}M{{/if}}{{#unless quiet}}!{{/unless}}',
      'partials/head.hbs': '{{practice}}{{> inner}}',
      'partials/inner.hbs': '{{#if fax}}fax{{/if}}{{phone}}',
    });
    expect(t.fields).toEqual({
      required: ['dob', 'first', 'last', 'phone', 'practice'],
      optional: ['fax', 'member', 'quiet', 'vip'],
      all: ['dob', 'fax', 'first', 'last', 'member', 'phone', 'practice', 'quiet', 'vip'],
    });
  });

  it('the first argument of default is optional, its fallback and hash values are required', () => {
    const t = template({ 't.hbs': '{{default nickname first}} {{formatDate d locale=lang}}' });
    expect(t.fields).toEqual({ required: ['d', 'first', 'lang'], optional: ['nickname'], all: ['d', 'first', 'lang', 'nickname'] });
  });

  it('a field tested by #if and also printed outside that #if is required', () => {
    expect(template({ 't.hbs': '{{#if x}}y{{/if}}{{x}}' }).fields.required).toEqual(['x']);
    expect(template({ 't.hbs': '{{#if x}}{{else}}{{x}}{{/if}}' }).fields.required).toEqual(['x']);
    expect(template({ 't.hbs': '{{#unless x}}{{x}}{{/unless}}' }).fields.required).toEqual(['x']);
  });

  it('a field printed only inside its own #if (or the else of its #unless) stays optional', () => {
    const t = template({
      't.hbs': '{{#if fax}}Fax {{fax}}{{/if}}{{#if a}}{{else if b}}{{formatDate b}}{{/if}}{{#unless c}}-{{else}}{{upper c}}{{/unless}}',
    });
    expect(t.fields).toEqual({ required: [], optional: ['a', 'b', 'c', 'fax'], all: ['a', 'b', 'c', 'fax'] });
    expect(t.render({})).toBe('-');
    expect(t.render({ fax: '5', b: '2026-01-01', c: 'x' })).toBe('Fax 5January 1, 2026X');
  });

  it('helpers and literals are not fields; dotted paths stay joined', () => {
    const t = template({ 't.hbs': '{{today}} {{today "iso"}} {{default "" "x"}} {{patient.name}} {{this.z}}' });
    expect(t.fields.all).toEqual(['patient.name', 'z']);
    expect(t.render({ 'patient.name': 'Ann', z: 'Z' })).toMatch(/ x Ann Z$/);
  });
});

describe('strict rendering', () => {
  const t = template({ 't.hbs': '<p>{{first}} {{upper middle}} {{default nick "friend"}}</p>' });

  it('a missing or empty required field is a RenderError naming the field, not a value', () => {
    const err = failure(RenderError, () => t.render({ nick: 'Secret Nickname' }));
    expect(err.template).toBe('t');
    expect(err.message).toBe('required fields missing or empty: first, middle');
    expect(failure(RenderError, () => t.render({ first: '  ', middle: 'Q' })).message).toContain('first');
  });

  it('missing optional fields render as ""; {{today}} and default still work in strict mode', () => {
    const today = new Date();
    const iso = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    const t2 = template({ 't.hbs': '[{{default nick "friend"}}|{{#if nick}}n{{/if}}|{{today "iso"}}]' });
    expect(t2.render({})).toBe(`[friend||${iso}]`);
    expect(t2.render({ nick: 'Bo', today: 'not a helper' })).toBe(`[Bo|n|${iso}]`);
  });

  it('fields come from own string properties only, never from the prototype', () => {
    const t2 = template({ 't.hbs': '[{{#if constructor}}c{{/if}}{{#if toString}}s{{/if}}]' });
    expect(t2.render({})).toBe('[]');
    const t3 = template({ 't.hbs': '{{constructor}}' });
    expect(failure(RenderError, () => t3.render({})).message).toContain('constructor');
  });

  it('a helper failure names the helper and the field, never the value', () => {
    const t2 = template({ 't.hbs': '{{formatDate dob}}' });
    const err = failure(RenderError, () => t2.render({ dob: '31/12/1999' }));
    expect(err.message).toBe('field dob: formatDate: value is not a date (expected YYYY-MM-DD or MM/DD/YYYY)');
  });

  it('escapes <script>, &, quotes and apostrophes through renderLetter', () => {
    const t2 = template({ 't.hbs': '<p title="{{first}}">{{first}}</p>', 'styles.css': 'p { color: red }' });
    expect(t2.inlining).toBe('once');
    const out = t2.renderLetter({ first: `<script>alert("x")</script> & O'Brien` });
    expect(out).not.toContain('<script');
    const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; O&#x27;Brien';
    expect(out).toBe(`<p title="${escaped}" style="color: red;">${escaped}</p>`);
  });
});

describe('refused constructs name the file and line', () => {
  const cases: [string, string, RegExp][] = [
    ['triple-stash', 'ok\n{{{x}}}', /unescaped output/],
    ['{{& }}', 'ok\n{{&x}}', /unescaped output/],
    ['#each', 'ok\n{{#each xs}}{{this}}{{/each}}', /#each/],
    ['#with', 'ok\n{{#with p}}{{n}}{{/with}}', /#with/],
    ['@root', 'ok\n{{@root.x}}', /@root/],
    ['../', 'ok\n{{#if a}}{{../x}}{{/if}}', /\.\.\//],
    ['dynamic partial', 'ok\n{{> (name)}}', /dynamic partials/],
    ['inline partial', 'ok\n{{#*inline "p"}}x{{/inline}}', /inline partials/],
    ['decorator', 'ok\n{{* deco}}', /decorators/],
    ['partial block', 'ok\n{{#> layout}}x{{/layout}}', /partial blocks/],
    ['inverse section', 'ok\n{{^x}}none{{/x}}', /not supported/],
    ['unknown helper', 'ok\n{{shout x}}', /unknown helper "shout"/],
    ['log', 'ok\n{{log x}}', /log/],
    ['wrong arity', 'ok\n{{upper a b}}', /upper takes 1 argument/],
    ['unknown format', 'ok\n{{formatDate d "fancy"}}', /unknown format "fancy"/],
    ['missing partial', 'ok\n{{> nothere}}', /partial "nothere" not found/],
    ['syntax error', 'ok\n{{#if x}}\n{{/unless}}', /syntax error: if doesn't match unless/],
    ['parse error', 'ok\n{{x', /syntax error: Expecting/],
    ['link stylesheet', 'ok\n<link rel="stylesheet" href="https://x/y.css">', /stylesheet import/],
    ['@import', 'ok\n<style>@import "a.css";</style>', /stylesheet import/],
  ];
  it.each(cases)('%s', (_label, source, problem) => {
    const dir = templatesDir({ 't.hbs': source });
    const err = failure(TemplateError, () => TemplateSet.load(dir).get('t'));
    expect(err.file).toBe(join(dir, 't.hbs'));
    expect(err.line).toBe(2);
    expect(err.message).toMatch(problem);
    expect(err.message).toContain(`${join(dir, 't.hbs')}, line ${err.line}`);
  });

  it('a partial with triple-stash, a syntax error or an @import fails at load, naming the partial', () => {
    for (const [file, text] of [['partials/p.hbs', 'a\n{{{x}}}'], ['partials/p.hbs', 'a\n{{#if}}'], ['styles.css', 'p{}\n@import "x.css";']] as const) {
      const dir = templatesDir({ [file]: text });
      const err = failure(TemplateError, () => TemplateSet.load(dir));
      expect([err.file, err.line]).toEqual([join(dir, file), 2]);
    }
  });

  it('partials that call each other in a loop are refused', () => {
    const dir = templatesDir({ 'partials/a.hbs': '{{> b}}', 'partials/b.hbs': '\n{{> a}}' });
    expect(failure(TemplateError, () => TemplateSet.load(dir)).message).toMatch(/loop: (a → b → a|b → a → b)/);
  });

  it('an @import in <name>.css is refused when the template is loaded', () => {
    const dir = templatesDir({ 't.hbs': 'x', 't.css': '@import url(https://x/y.css);' });
    expect(failure(TemplateError, () => TemplateSet.load(dir).get('t')).file).toBe(join(dir, 't.css'));
  });

  it('a literal image path that is missing or outside the folder is refused on get', () => {
    const dir = templatesDir({ 't.hbs': '\n<img src="{{image "images/none.png"}}">' });
    expect(failure(TemplateError, () => TemplateSet.load(dir).get('t')).line).toBe(2);
    writeFileSync(join(dir, '..', 'x.png'), PNG);
    symlinkSync(join(dir, '..', 'x.png'), join(dir, 'link.png'));
    for (const path of ['../x.png', join(dir, '..', 'x.png'), 'link.png']) {
      writeFileSync(join(dir, 'u.hbs'), `{{image "${path}"}}`);
      expect(failure(TemplateError, () => TemplateSet.load(dir).get('u')).message).toMatch(/outside|absolute/);
    }
  });
});

describe('styles and warnings', () => {
  const files = {
    't.hbs':
      '<html><head><style>.c { color: blue } @media print { p { color: black } }</style></head>' +
      '<body><p class="c">{{x}}</p><img src="{{image "images/s.png"}}"><img src="https://cdn.example.com/logo.png"></body></html>',
    'styles.css': 'p { margin: 0; color: green } body { font-family: serif }',
    't.css': '.c { color: red; font-weight: bold } .bg { background: url(//cdn.example.com/bg.png) }',
    'images/s.png': PNG,
  };
  const t = template(files);
  const out = t.renderLetter({ x: 'X' });

  it('applies styles.css, then <name>.css, then the template <style> blocks', () => {
    expect(t.inlining).toBe('once');
    expect(out).toContain('<body style="font-family: serif;">');
    const style = /<p class="c" style="([^"]*)">X<\/p>/.exec(out)?.[1]?.split(/;\s*/).sort();
    expect(style).toEqual(['', 'color: blue', 'font-weight: bold', 'margin: 0']);
  });

  it('leaves only a media-query <style> block and embeds images as data: URIs', () => {
    const blocks = [...out.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!.trim());
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatch(/^@media print/);
    expect(out).toContain(`src="data:image/png;base64,${Buffer.from(PNG).toString('base64')}"`);
  });

  it('warns about remote images, naming the template and the file', () => {
    expect(t.warnings).toHaveLength(2);
    expect(t.warnings[0]).toMatch(/^template t: remote image https:\/\/cdn\.example\.com\/logo\.png in .*t\.hbs/);
    expect(t.warnings[1]).toMatch(/^template t: remote image \/\/cdn\.example\.com\/bg\.png in .*t\.css/);
  });

  it('render gives the Handlebars output before inlining', () => {
    expect(t.render({ x: 'X' })).toContain('<style>.c { color: blue }');
  });

  it('a template the merge could restyle is inlined per letter, saying why', () => {
    const p = template({ 't.hbs': '<p class="{{x}}">t</p>', 'styles.css': '.a { color: red }' });
    expect([p.inlining, p.inliningReason]).toEqual(['per-letter', expect.stringContaining('{{x}} (t.hbs, line 1) in the class attribute')]);
    expect(p.renderLetter({ x: 'a' })).toBe('<p class="a" style="color: red;">t</p>');
  });
});
