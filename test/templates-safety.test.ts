/**
 * Letters never carry script: what the template loader refuses, and which row values are
 * refused where a template prints them (in-process), plus the two promises of `preview`
 * (end to end, at the bottom).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TemplateError } from '../src/errors.js';
import { TemplateSet } from '../src/templates/index.js';
import { decodeReferences, isSafeMergedUrl, isScriptUrl } from '../src/templates/safety.js';
import { PNG, removeTemplatesDirs, templatesDir } from './fixtures/templates-unit/folder.js';
import { runCli, tempDir, writeTree } from './support/cli.js';

afterAll(removeTemplatesDirs);

function load(files: Record<string, string | Uint8Array>) {
  return TemplateSet.load(templatesDir({ 'i.png': PNG, ...files })).get('t');
}

/** The TemplateError a template gives when it is loaded. */
function refusal(files: Record<string, string | Uint8Array>): TemplateError {
  try {
    load(files);
  } catch (err) {
    if (err instanceof TemplateError) return err;
    throw err;
  }
  throw new Error('the template was accepted');
}

describe('templates that carry script are refused, naming the file and line', () => {
  const cases: [string, string, RegExp][] = [
    ['a <script> element', '<p>a</p>\n<script>alert(1)</script>', /t\.hbs, line 2: <script> is not allowed/],
    ['a <SCRIPT> element in capitals', '<SCRIPT src="x.js"></SCRIPT>', /<script> is not allowed/],
    ['an event handler without a mustache', '<p>\n<b onclick="alert(1)">x</b></p>', /line 2: event-handler attribute onclick on <b>/],
    ['an event handler with a mustache', '<p onmouseover="alert(\'{{x}}\')">x</p>', /event-handler attribute onmouseover/],
    ['an event handler after a slash', '<img/onerror="alert(1)" src="i.png">', /event-handler attribute onerror/],
    ['a javascript: link', '<a href="javascript:alert(document.domain)">x</a>', /a script URL in the href attribute of <a>/],
    ['an entity-encoded javascript: link', '<a href="jav&#x61;script&colon;alert(1)">x</a>', /script URL/],
    ['a decimal entity without semicolon', '<a href="&#106avascript:alert(1)">x</a>', /script URL/],
    ['a spaced, mixed-case javascript: link', '<a href=" JaVa\tScRiPt:alert(1)">x</a>', /script URL/],
    ['a vbscript: link', '<a href="vbscript:msgbox(1)">x</a>', /script URL/],
    ['a data: link that is not an image', '<a href="data:text/html,<b>x</b>">x</a>', /script URL/],
    ['a javascript: form action', '<form action="javascript:x()"><button formaction="javascript:y()">b</button></form>', /script URL in the action/],
    ['a javascript: link after a block', '<a href="{{#if x}}https://a/{{else}}javascript:b(){{/if}}">x</a>', /script URL/],
    ['a javascript: link split around a field', '<a href="{{x}}javascript:b()">x</a>', /script URL/],
    ['an iframe', '<iframe src="https://example.org"></iframe>', /<iframe> is not allowed/],
    ['an object', '<object data="x.swf"></object>', /<object> is not allowed/],
    ['an embed', '<embed src="x.swf">', /<embed> is not allowed/],
    ['a base element', '<base href="https://example.org/">', /<base> is not allowed/],
    ['a meta refresh', '<meta http-equiv="refresh" content="0;url=https://example.org">', /<meta http-equiv> is not allowed/],
    ['inline SVG', '<svg><a href="https://x">x</a></svg>', /<svg> is not allowed/],
    ['noscript, parsed differently by browsers', '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></p></noscript>', /<noscript> is not allowed/],
    ['a srcdoc attribute', '<div srcdoc="&lt;script&gt;">x</div>', /srcdoc attribute is not allowed/],
    ['a malformed comment browsers end early', '<!--><img src=x onerror=alert(1)>-->', /malformed HTML comment/],
    ['CSS expression() in a style attribute', '<p style="width: expression(alert(1))">x</p>', /CSS that runs script/],
    ['a javascript: URL in a <style> block', '<style>p { background: url("javascript:alert(1)") }</style><p>x</p>', /CSS that runs script/],
    ['an escaped expression in CSS', '<p style="width: expr\\65 ssion(alert(1))">x</p>', /CSS that runs script/],
    ['a mustache as an element name', '<{{x}}>t</p>', /in the name of an element/],
    ['a mustache between attributes', '<p {{x}}>t</p>', /inside the <p> tag, outside a quoted attribute value/],
    ['a mustache in an attribute name', '<p data-{{x}}="1">t</p>', /inside an attribute name/],
    ['a block that builds an attribute name', '<p {{#if x}}on{{/if}}click="a()">t</p>', /inside an attribute name/],
    ['a mustache in an end tag', '<p>t</p {{x}}>', /inside the <\/p> tag/],
    ['a mustache in an unquoted link', '<a href={{x}}>t</a>', /in an unquoted href attribute/],
    ['a mustache in an unquoted style', '<p style=color:{{x}}>t</p>', /in an unquoted style attribute/],
    ['a link whose start comes from two fields', '<a href="{{a}}{{b}}">t</a>', /the start of the href attribute of <a> is left to several statements/],
    ['a link whose start depends on a block', '<a href="{{#if a}}{{a}}{{/if}}">t</a>', /left to several statements/],
    ['an unsafe default at the start of a link', '<a href="{{default x "javascript:alert(1)"}}">t</a>', /its text is not a safe link/],
    ['an unsafe default in a style', '<p style="color: {{default x "red; background: url(https://x/)"}}">t</p>', /its text is not allowed in the style attribute/],
    ['unterminated HTML', '<p>t</p><img src="i.png"', /its HTML cannot be read to the end/],
  ];

  it.each(cases)('%s', (_label, source, message) => {
    const err = refusal({ 't.hbs': source });
    expect(err.message).toMatch(/t\.hbs/);
    expect(err.message).toMatch(message);
    expect(err.exitCode).toBe(2);
  });

  it('a <script> in a partial refuses the template, naming the partial and its line', () => {
    const err = refusal({ 't.hbs': '<p>a</p>\n{{> p}}', 'partials/p.hbs': '<div>\n\n<script>x()</script></div>' });
    expect(err.message).toMatch(/partials\/p\.hbs, line 3: <script> is not allowed/);
  });

  it('an event handler split between a template and its partial is refused', () => {
    const err = refusal({ 't.hbs': '<a {{> p}}="alert(1)">x</a>', 'partials/p.hbs': 'onclick' });
    expect(err.message).toMatch(/event-handler attribute onclick/);
  });

  it('a stylesheet with expression() or a javascript: URL is refused, naming its line', () => {
    const err = refusal({ 't.hbs': '<p>x</p>', 'styles.css': 'p { color: red }\np { background: url(javascript:alert(1)) }' });
    expect(err.message).toMatch(/styles\.css, line 2: a stylesheet cannot contain "javascript:"/);
    expect(refusal({ 't.hbs': '<p>x</p>', 't.css': 'p { width: expression(1) }' }).message).toMatch(/t\.css, line 1/);
  });
});

describe('what templates may still do', () => {
  it.each([
    ['links with a fixed start', '<a href="https://example.org/{{id}}">a</a><a href="mailto:{{id}}?subject=Re:x">b</a><a href="/p/{{id}}">c</a>'],
    ['a whole link from one field, with a fixed end', '<a href="{{url}}#top">a</a>'],
    ['an image helper in src', '<img src="{{image "i.png"}}" alt="{{id}}">'],
    ['blocks around attributes', '<p {{#if id}}class="x"{{/if}}>t</p>'],
    ['mustaches in comments, titles and textareas', '<!-- {{id}} --><title>{{id}}</title><textarea>{{id}}</textarea>'],
    ['an unquoted plain attribute', '<p title=a{{id}}>t</p>'],
    ['an image data: link and tel: links', '<a href="tel:+1555">t</a><img src="data:image/png;base64,AAAA">'],
  ])('%s', (_label, source) => {
    expect(() => load({ 't.hbs': source })).not.toThrow();
  });

  it('the bundled templates load and render with ordinary values', () => {
    const set = TemplateSet.load(join(import.meta.dirname, '..', 'templates'));
    for (const name of set.list()) {
      const t = set.get(name);
      const data = Object.fromEntries(t.fields.all.map((f) => [f, /date|Date|Until/.test(f) ? '2024-03-01' : 'Ann & Co; {x}']));
      expect(t.checkValues(data)).toEqual([]);
      expect(t.renderLetter(data)).toContain('Ann &amp; Co');
    }
  });
});

describe('row values are checked where the template prints them', () => {
  const link = load({ 't.hbs': '<p>{{url}}</p>\n<a href="{{url}}">x</a><a href="https://x/{{id}}">y</a>' });

  it.each([
    ['javascript:alert(document.domain)'],
    [' JaVaScRiPt:alert(1)'],
    ['\u0001java\tscript:alert(1)'],
    ['vbscript:x'],
    ['data:text/html;base64,PHNjcmlwdD4='],
    ['ftp://example.org/x'],
    ['javaſcript:alert(1)'],
  ])('a link value %j at the start of href makes the row invalid', (url) => {
    const problems = link.checkValues({ url, id: '1' });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe('url');
    expect(problems[0]!.message).toMatch(/at the start of the href attribute of <a> \(t\.hbs, line 2\): a link must be a relative path or use http, https, mailto or tel/);
    expect(problems[0]!.message).not.toContain(url.trim());
  });

  it.each([['https://example.org/a'], ['http://x'], ['mailto:a@b.org'], ['tel:+15551234'], ['/relative/path'], ['10:30 notes'], ['data:image/png;base64,AAAA'], ['']])(
    'a link value %j is allowed',
    (url) => expect(link.checkValues({ url, id: '1' })).toEqual([]),
  );

  it('after a fixed start a value is plain escaped text', () => {
    expect(link.checkValues({ url: 'https://ok', id: 'javascript:alert(1)' })).toEqual([]);
  });

  it('the static end of a link counts with the value (no "java" + "script:" from the template)', () => {
    const t = load({ 't.hbs': '<a href="{{x}}script:alert(1)">x</a>' });
    expect(t.checkValues({ x: 'java' })).toHaveLength(1);
    expect(t.checkValues({ x: 'https://a/' })).toEqual([]);
    const s = load({ 't.hbs': '<a href="{{x}}&colon;alert(1)">x</a>' });
    expect(s.checkValues({ x: 'javascript' })).toHaveLength(1);
  });

  it('render and renderLetter refuse such a row too, naming the field', () => {
    expect(() => link.renderLetter({ url: 'javascript:alert(1)', id: '1' })).toThrow(/field url: not allowed at the start/);
    expect(() => link.render({ url: 'javascript:alert(1)', id: '1' })).toThrow(/field url/);
  });

  it.each(['red; background-image: url(https://evil.example/x.png)', 'url(x)', 'red}p{color:blue', 'expression(alert(1))', 'a\\62', '</style><script>', '-webkit-image-set("https://x" 1x)', 'EXPREſſION(1)'])(
    'a style value %j is refused in a style attribute and in a <style> block',
    (c) => {
      const t = load({ 't.hbs': '<style>p { color: {{c}} }</style><p style="color: {{d}}">x</p>' });
      expect(t.checkValues({ c, d: 'red' }).map((p) => p.field)).toEqual(['c']);
      expect(t.checkValues({ c: 'red', d: c }).map((p) => p.field)).toEqual(['d']);
      expect(t.checkValues({ c: 'red', d: c })[0]!.message).toMatch(/not allowed in the style attribute of <p>.*may not contain url\(/);
    },
  );

  it('plain colours and sizes are allowed in styles', () => {
    const t = load({ 't.hbs': '<p style="color: {{d}}">x</p>' });
    for (const d of ['red', '#123456', 'rgb(1, 2, 3)', '12px', 'Times New Roman']) expect(t.checkValues({ d })).toEqual([]);
  });

  it('a field used in a link and in a style gets both checks', () => {
    const t = load({ 't.hbs': '<a href="{{v}}">x</a><p style="color: {{v}}">y</p>' });
    expect(t.checkValues({ v: 'javascript:x;' }).length).toBe(2);
    expect(t.checkValues({ v: 'a;b' }).map((p) => p.message)).toEqual([expect.stringMatching(/style attribute/)]);
  });

  it('helpers: every field given to a helper is checked, before and after case changes', () => {
    const t = load({ 't.hbs': '<a href="{{upper (default a b)}}">x</a><a href="{{lower c}}">y</a>' });
    expect(t.checkValues({ a: '', b: 'javascript:x', c: '' }).map((p) => p.field)).toEqual(['b']);
    expect(t.checkValues({ a: 'https://ok', b: 'https://ok', c: 'JAVAſCRIPT:x' }).map((p) => p.field)).toEqual(['c']);
  });

  it('a field printed inside a partial placed in a link is checked as a link', () => {
    const t = load({ 't.hbs': '<a href="{{> p}}">x</a>', 'partials/p.hbs': '{{u}}' });
    expect(t.checkValues({ u: 'javascript:x' })).toHaveLength(1);
  });

  it('url entity decoding and scheme rules', () => {
    expect(decodeReferences('jav&#x61;script&colon;&Tab;')).toBe('javascript:\t');
    expect(isScriptUrl('\n jav\nascript:x')).toBe(true);
    expect(isScriptUrl('data:image/svg+xml,<svg/>')).toBe(false);
    expect(isSafeMergedUrl('Note: x')).toBe(false);
    expect(isSafeMergedUrl('1:2')).toBe(true);
  });
});

describe('files that resolve outside the templates folder are refused', () => {
  function linked(name: string, content: string, base: Record<string, string>) {
    const dir = templatesDir({ 'i.png': PNG, ...base });
    const outside = join(dirname(dir), 'outside', name.replace(/\//g, '_'));
    mkdirSync(dirname(outside), { recursive: true });
    writeFileSync(outside, content);
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    symlinkSync(outside, join(dir, name));
    return dir;
  }

  it('a template that is a symlink to a file outside', () => {
    const dir = linked('t.hbs', '<p>{{x}}</p>', {});
    expect(() => TemplateSet.load(dir).get('t')).toThrow(/t\.hbs: leads outside the templates folder/);
  });

  it('a partial that is a symlink to a file outside', () => {
    const dir = linked('partials/p.hbs', '<p>x</p>', { 't.hbs': '{{> p}}' });
    expect(() => TemplateSet.load(dir)).toThrow(/p\.hbs: leads outside the templates folder/);
  });

  it('a stylesheet (styles.css or <name>.css) that is a symlink to a file outside', () => {
    expect(() => TemplateSet.load(linked('styles.css', 'p{}', { 't.hbs': '<p>x</p>' }))).toThrow(/styles\.css: leads outside/);
    expect(() => TemplateSet.load(linked('t.css', 'p{}', { 't.hbs': '<p>x</p>' })).get('t')).toThrow(/t\.css: leads outside/);
  });

  it('a symlink inside the folder to a file inside the folder is fine', () => {
    const dir = templatesDir({ 'real.hbs': '<p>{{x}}</p>' });
    symlinkSync(join(dir, 'real.hbs'), join(dir, 't.hbs'));
    expect(TemplateSet.load(dir).get('t').render({ x: 'a' })).toBe('<p>a</p>');
  });

  it('an image that is a symlink outside is still refused, by the same check', () => {
    const dir = linked('images/x.png', 'png', { 't.hbs': '<img src="{{image "images/x.png"}}">' });
    expect(() => TemplateSet.load(dir).get('t')).toThrow(/path leads outside the templates folder/);
  });
});

describe('preview (end to end)', () => {
  const KEYS = '0f1e2d3c4b5a69788796a5b4c3d2e1f0,aa11bb22cc33dd44ee55ff6677889900,3f2a9c1e-5b7d-4e8f-a1b2-c3d4e5f6a7b8';

  it('a javascript: link cell makes its row invalid, naming the row and column (exit 2)', () => {
    const dir = tempDir();
    writeTree(dir, {
      'tpl/t.hbs': '<p>Dear {{name}}, see <a href="{{url}}">your page</a>.</p>\n',
      'in.csv': `patientKey,providerKey,practiceLocationKey,name,url\n${KEYS},Ann,https://example.org\n${KEYS},Bob,javascript:alert(document.domain)\n`,
    });
    const r = runCli(['preview', 'in.csv', '-t', 't', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/row 2, column url: not allowed at the start of the href attribute of <a>/);
    expect(r.stderr).not.toContain('alert(document.domain)');
  });

  it('a template with <script> stops the run, naming the file and line (exit 2)', () => {
    const dir = tempDir();
    writeTree(dir, {
      'tpl/t.hbs': '<p>Dear {{name}}</p>\n<script>alert(1)</script>\n',
      'in.csv': `patientKey,providerKey,practiceLocationKey,name\n${KEYS},Ann\n`,
    });
    const r = runCli(['preview', 'in.csv', '-t', 't', '--templates-dir', 'tpl', '-o', 'out'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/t\.hbs, line 2: <script> is not allowed in a letter/);
  });
});
