/**
 * Where every `{{...}}` of a template (with its partials placed where they are called) sits in
 * the HTML, and what that allows. Run once, when a template is loaded.
 *
 * The template is written as one HTML document, with a placeholder for every statement, and
 * read with the HTML scanner. Then:
 *  - refused outright (TemplateError naming the file and line): a <script> element and the
 *    other elements that run, embed or redirect (iframe, object, embed, base, meta http-equiv,
 *    svg, math, noscript, ...); any event-handler attribute (on...) and srcdoc; a URL attribute
 *    or CSS that runs script (javascript:, vbscript:, data: other than an image, expression());
 *    a `{{...}}` in an element or attribute name, inside a tag outside a quoted value, in an
 *    end tag, or in an unquoted link or style attribute; a malformed comment (`<!-->`, which
 *    browsers end early); a link whose scheme the template leaves to several statements;
 *  - checked per row (the ValueCheck list returned): a value at the start of a URL attribute
 *    (it must be a safe link), a value in a style attribute or <style> block (safe CSS);
 *  - plain text everywhere else (text, title, textarea, comments, other attributes, quoted or
 *    not): escaping is enough, since `<`, `>`, `=`, quotes and backquotes are always escaped.
 */
import { basename } from 'node:path';
import { TemplateError } from '../errors.js';
import { showName } from '../escape.js';
import { scanHtml, type HtmlAttr, type HtmlEvent } from './html-scan.js';
import { decodeReferences, fixesScheme, isSafeCssValue, isSafeMergedUrl, isScriptUrl, scriptInCss, type ValueCheck } from './safety.js';

type Program = hbs.AST.Program;
type Mustache = hbs.AST.MustacheStatement;
type Block = hbs.AST.BlockStatement;

export interface ContextInput {
  ast: Program;
  file: string;
  partial: (name: string) => { ast: Program; file: string };
}

interface Mark {
  /** A `{{...}}` (hole), or the start, {{else}} or end of a block. */
  hole?: Mustache;
  file: string;
  line: number;
}

interface Segment {
  at: number;
  file: string;
  line: number;
  content: boolean;
}

/** Attributes whose value is a URL (or a list of URLs), on any element. */
const URL_ATTRIBUTES: ReadonlySet<string> = new Set([
  'href', 'src', 'action', 'formaction', 'background', 'poster', 'cite', 'data', 'codebase', 'classid',
  'archive', 'longdesc', 'usemap', 'profile', 'manifest', 'icon', 'lowsrc', 'dynsrc', 'srcset',
  'imagesrcset', 'ping', 'xlink:href', 'xml:base',
]);

/** Elements a letter may not have, and why. */
const REFUSED_ELEMENTS: Readonly<Record<string, string>> = {
  script: 'letters never carry script',
  iframe: 'letters cannot embed other pages',
  frame: 'letters cannot embed other pages',
  frameset: 'letters cannot embed other pages',
  object: 'letters cannot embed objects',
  embed: 'letters cannot embed objects',
  applet: 'letters cannot embed objects',
  portal: 'letters cannot embed other pages',
  base: 'it would change where every link of the page points',
  svg: 'inline SVG can carry script: put the drawing in a file and use <img src="{{image "file.svg"}}">',
  math: 'MathML is parsed differently by browsers',
  noscript: 'browsers parse its content differently',
  xmp: 'browsers parse its content differently',
  plaintext: 'browsers parse its content differently',
  noembed: 'browsers parse its content differently',
  noframes: 'browsers parse its content differently',
};

const QUOTE_HINT = 'put merge fields in text or inside a quoted attribute value: title="{{field}}"';
const LINK_HINT = 'start the link in the template (href="https://example.org/{{id}}") or give the whole link in one field (href="{{link}}")';

function exprText(node: hbs.AST.Expression): string {
  if (node.type === 'PathExpression') return (node as hbs.AST.PathExpression).original;
  if (node.type === 'StringLiteral') return JSON.stringify((node as hbs.AST.StringLiteral).value);
  if (node.type === 'SubExpression') return '(…)';
  return String((node as unknown as { original: unknown }).original);
}

function holeText(node: Mustache): string {
  return `{{${[node.path, ...node.params].map(exprText).join(' ')}}}`;
}

/** Fields a statement reads, through its helpers and subexpressions; and its string literals. */
function inputs(node: Mustache | hbs.AST.SubExpression, fields: Set<string>, literals: string[]): void {
  const helper = node.path.type === 'PathExpression' ? (node.path as hbs.AST.PathExpression).original : '';
  const args = [...node.params, ...(node.hash?.pairs ?? []).map((p) => p.value)];
  if (args.length === 0 && node.path.type === 'PathExpression') {
    fields.add((node.path as hbs.AST.PathExpression).parts.join('.'));
    return;
  }
  for (const arg of args) {
    if (arg.type === 'PathExpression') fields.add((arg as hbs.AST.PathExpression).parts.join('.'));
    else if (arg.type === 'SubExpression') inputs(arg as hbs.AST.SubExpression, fields, literals);
    // image prints a data: URI of the folder's own file, today and formatDate a date; the
    // literals of the others (default's fallback) may be printed as they are.
    else if (arg.type === 'StringLiteral' && !['image', 'today', 'formatDate'].includes(helper)) {
      literals.push((arg as hbs.AST.StringLiteral).value);
    }
  }
}

function sourceOf(c: hbs.AST.ContentStatement): string {
  const original = (c as unknown as { original?: unknown }).original;
  return typeof original === 'string' ? original : c.value;
}

/** Offset of a content statement's printed value inside its source text (after whitespace control). */
function valueOffset(c: hbs.AST.ContentStatement): number {
  const original = sourceOf(c);
  for (let k = original.length - c.value.length; k > 0; k--) {
    if (/^\s*$/.test(original.slice(0, k)) && original.startsWith(c.value, k)) return k;
  }
  return 0;
}

class Doc {
  html = '';
  readonly marks: Mark[] = [];
  readonly segments: Segment[] = [];

  constructor(
    private readonly token: (i: number) => string,
    private readonly partial: ContextInput['partial'],
  ) {}

  private mark(file: string, node: Mustache | Block, hole?: Mustache): void {
    this.segments.push({ at: this.html.length, file, line: node.loc.start.line, content: false });
    this.html += this.token(this.marks.length);
    this.marks.push({ hole, file, line: node.loc.start.line });
  }

  write(program: Program, file: string): void {
    for (const node of program.body) {
      if (node.type === 'ContentStatement') {
        const c = node as hbs.AST.ContentStatement;
        const lead = sourceOf(c).slice(0, valueOffset(c));
        const line = c.loc.start.line + lead.split('\n').length - 1;
        this.segments.push({ at: this.html.length, file, line, content: true });
        this.html += c.value;
      } else if (node.type === 'MustacheStatement') {
        this.mark(file, node as Mustache, node as Mustache);
      } else if (node.type === 'BlockStatement') {
        const b = node as Block;
        this.mark(file, b);
        this.write(b.program, file);
        if (b.inverse) {
          this.mark(file, b);
          this.write(b.inverse, file);
        }
        this.mark(file, b);
      } else if (node.type === 'PartialStatement') {
        const ref = (node as hbs.AST.PartialStatement).name as hbs.AST.PathExpression | hbs.AST.StringLiteral;
        const found = this.partial(String(ref.type === 'PathExpression' ? ref.original : ref.value));
        this.write(found.ast, found.file);
      }
    }
  }

  /** File and line of an offset of the document. */
  at(offset: number): { file: string; line: number } {
    let seg = this.segments[0];
    for (const s of this.segments) {
      if (s.at > offset) break;
      seg = s;
    }
    if (!seg) return { file: '', line: 1 };
    const extra = seg.content ? this.html.slice(seg.at, offset).split('\n').length - 1 : 0;
    return { file: seg.file, line: seg.line + extra };
  }
}

/** Placeholders `<prefix><n>q`, with a prefix found nowhere in the template's text. */
function placeholders(text: string): { token: (i: number) => string; pattern: RegExp; prefix: string } {
  const all = text.toLowerCase();
  let prefix = 'hbsctx';
  while (all.includes(prefix)) prefix += 'x';
  return { token: (i) => `${prefix}${i}q`, pattern: new RegExp(`${prefix}(\\d+)q`, 'g'), prefix };
}

/** Decide the context of every statement of a template; refuse what could carry script. */
export function analyzeContexts(input: ContextInput): ValueCheck[] {
  const probe = new Doc(() => '', input.partial);
  probe.write(input.ast, input.file);
  const { token, pattern, prefix } = placeholders(probe.html);
  const doc = new Doc(token, input.partial);
  doc.write(input.ast, input.file);
  const events = scanHtml(doc.html);
  if (!events) {
    throw new TemplateError(
      { file: input.file },
      'its HTML cannot be read to the end (an unterminated tag, comment, <style>, <title> or <textarea>?)',
      'close every tag, comment and element; write a "<" in text as &lt;',
    );
  }
  return new Checker(doc, pattern, prefix).run(events);
}

interface Found {
  mark: Mark;
  index: number;
  length: number;
}

class Checker {
  private readonly checks = new Map<string, ValueCheck>();

  constructor(
    private readonly doc: Doc,
    private readonly pattern: RegExp,
    private readonly prefix: string,
  ) {}

  run(events: HtmlEvent[]): ValueCheck[] {
    for (const e of events) {
      const found = this.find(e.start, e.end);
      if (e.type === 'start') this.startTag(e, found);
      else if (e.type === 'raw' && e.name === 'style') this.styleBlock(e, found);
      else if (e.type === 'other') this.other(e);
      else if (e.type === 'end' && found.length > 0) this.failAt(found[0]!, `${this.label(found[0]!)} inside the </${e.name}> tag`, QUOTE_HINT);
    }
    return [...this.checks.values()];
  }

  private find(from: number, to: number): Found[] {
    const html = this.doc.html;
    return [...html.slice(from, to).matchAll(this.pattern)].map((m) => ({
      mark: this.doc.marks[Number(m[1])]!,
      index: from + m.index,
      length: m[0].length,
    }));
  }

  private strip(text: string): string {
    return text.replace(this.pattern, '');
  }

  private label(f: Found): string {
    const what = f.mark.hole ? holeText(f.mark.hole) : 'a {{#if}}/{{#unless}} block';
    return what;
  }

  private fail(offset: number, problem: string, hint?: string): never {
    const { file, line } = this.doc.at(offset);
    throw new TemplateError({ file, line }, showName(problem), hint); // names from the template, escaped
  }

  private failAt(f: Found, problem: string, hint?: string): never {
    throw new TemplateError({ file: f.mark.file, line: f.mark.line }, showName(problem), hint);
  }

  private where(f: Found, place: string): string {
    return showName(`${place} (${basename(f.mark.file)}, line ${f.mark.line})`);
  }

  private other(e: Extract<HtmlEvent, { type: 'other' }>): void {
    const text = this.doc.html.slice(e.start, e.end);
    // A value cannot end a comment or declaration (`>` is always escaped): nothing to check.
    if (/^<!--->?|--!>/.test(text) || text.startsWith('<!-->')) {
      this.fail(e.start, 'malformed HTML comment (browsers end it elsewhere than it seems)', 'write comments as <!-- text -->');
    }
  }

  private startTag(e: Extract<HtmlEvent, { type: 'start' }>, found: Found[]): void {
    const at = (f: Found) => `${this.label(f)} in the name of an element`;
    if (e.name.includes(this.prefix)) this.failAt(found[0]!, at(found[0]!), QUOTE_HINT);
    const why = Object.hasOwn(REFUSED_ELEMENTS, e.name) ? REFUSED_ELEMENTS[e.name] : undefined;
    if (why) this.fail(e.start, `<${e.name}> is not allowed in a letter`, why);
    if (e.name === 'meta' && e.attrs.some((a) => a.name === 'http-equiv')) {
      this.fail(e.start, '<meta http-equiv> is not allowed in a letter', 'it can redirect the page or change how it is read');
    }
    for (const a of e.attrs) {
      const inValue = found.filter((f) => f.index >= a.valueStart && f.index + f.length <= a.valueEnd);
      this.attribute(e, a, inValue);
    }
  }

  /**
   * The attribute's name without the block marks that may open it (`{{#if x}}class="a"{{/if}}`
   * puts a block's start or end right before a name); undefined for nothing but marks.
   * Refuses a statement anywhere else in a name, and any `{{...}}` between attributes.
   */
  private attributeName(e: Extract<HtmlEvent, { type: 'start' }>, a: HtmlAttr): string | undefined {
    if (!a.name.includes(this.prefix)) return a.name;
    const lead = new RegExp(`^(?:${this.prefix}\\d+q)*`).exec(a.name)![0];
    const rest = a.name.slice(lead.length);
    const marks = [...a.name.matchAll(this.pattern)].map((m) => this.doc.marks[Number(m[1])]!);
    const hole = marks.find((m) => m.hole);
    const f = { mark: hole ?? marks[0]!, index: 0, length: 0 };
    if (rest.includes(this.prefix) || (hole && rest !== '')) this.failAt(f, `${this.label(f)} inside an attribute name`, QUOTE_HINT);
    if (hole || (rest === '' && a.value !== '')) {
      this.failAt(f, `${this.label(f)} inside the <${e.name}> tag, outside a quoted attribute value`, QUOTE_HINT);
    }
    return rest === '' ? undefined : rest;
  }

  private attribute(e: Extract<HtmlEvent, { type: 'start' }>, attr: HtmlAttr, found: Found[]): void {
    const name = this.attributeName(e, attr);
    if (name === undefined) return;
    const a = { ...attr, name };
    if (a.name.startsWith('on')) {
      this.fail(a.valueStart, `event-handler attribute ${a.name} on <${e.name}> is not allowed`, 'letters never carry script: remove the attribute');
    }
    if (a.name === 'srcdoc') this.fail(a.valueStart, `the srcdoc attribute is not allowed`, 'letters cannot embed other pages');
    const holes = found.filter((f) => f.mark.hole);
    const checked = a.name === 'style' || URL_ATTRIBUTES.has(a.name);
    // Unquoted, a value can only add bare attribute names (=, quotes, < and > are escaped):
    // plain text, but not where a link or a style is checked.
    if (holes.length > 0 && !a.quote && checked) {
      this.failAt(holes[0]!, `${this.label(holes[0]!)} in an unquoted ${a.name} attribute of <${e.name}>`, `quote the value: ${a.name}="…"`);
    }
    if (a.name === 'style') return this.styleAttribute(e, a, holes);
    if (URL_ATTRIBUTES.has(a.name)) this.urlAttribute(e, a, found);
  }

  private staticCss(css: string, offset: number): void {
    const found = scriptInCss(decodeReferences(this.strip(css)));
    if (found) this.fail(offset, `CSS that runs script: ${found.what}`, 'letters never carry script');
  }

  private cssHoles(holes: Found[], place: string): void {
    for (const f of holes) {
      const fields = new Set<string>();
      const literals: string[] = [];
      inputs(f.mark.hole!, fields, literals);
      const where = this.where(f, place);
      if (literals.some((l) => !isSafeCssValue(l))) {
        this.failAt(f, `${this.label(f)}: its text is not allowed in ${place}`, 'a value in a style may not contain url(, expression, ;, {, }, <, > or \\');
      }
      for (const field of fields) this.add({ field, kind: 'css', before: '', after: '', where });
    }
  }

  private styleAttribute(e: Extract<HtmlEvent, { type: 'start' }>, a: HtmlAttr, holes: Found[]): void {
    this.staticCss(a.value, a.valueStart);
    this.cssHoles(holes, `the style attribute of <${e.name}>`);
  }

  private styleBlock(e: Extract<HtmlEvent, { type: 'raw' }>, found: Found[]): void {
    const css = this.doc.html.slice(e.start, e.end);
    const script = scriptInCss(this.strip(css));
    if (script) this.fail(e.start, `CSS that runs script: ${script.what}`, 'letters never carry script');
    this.cssHoles(found.filter((f) => f.mark.hole), 'a <style> block');
  }

  private urlAttribute(e: Extract<HtmlEvent, { type: 'start' }>, a: HtmlAttr, found: Found[]): void {
    const pieces = a.value.split(this.pattern).filter((_, k) => k % 2 === 0); // split keeps the captured numbers
    const candidates = [this.strip(a.value), ...pieces.slice(1)];
    if (a.name.endsWith('srcset')) candidates.push(...this.strip(a.value).split(',').map((c) => c.trim()));
    if (candidates.some((c) => isScriptUrl(decodeReferences(c)))) {
      this.fail(a.valueStart, `a script URL in the ${a.name} attribute of <${e.name}>`, 'letters never carry script: links use http, https, mailto or tel');
    }
    if (found.length === 0) return;
    const first = found[0]!;
    const before = decodeReferences(this.doc.html.slice(a.valueStart, first.index));
    if (fixesScheme(before)) return; // after a fixed start, a value is escaped text
    const place = `the ${a.name} attribute of <${e.name}>`;
    if (found.length > 1 || !first.mark.hole) {
      const f = found.find((x) => x.mark.hole) ?? first;
      this.failAt(f, `${this.label(f)}: the start of ${place} is left to several statements`, LINK_HINT);
    }
    const after = decodeReferences(this.doc.html.slice(first.index + first.length, a.valueEnd));
    const fields = new Set<string>();
    const literals: string[] = [];
    inputs(first.mark.hole, fields, literals);
    if (literals.some((l) => !isSafeMergedUrl(before + l + after))) {
      this.failAt(first, `${this.label(first)}: its text is not a safe link for ${place}`, 'a link must be a relative path or use http, https, mailto or tel');
    }
    const where = this.where(first, place);
    for (const field of fields) this.add({ field, kind: 'url', before, after, where });
  }

  private add(check: ValueCheck): void {
    this.checks.set(JSON.stringify([check.field, check.kind, check.before, check.after, check.where]), check);
  }
}
