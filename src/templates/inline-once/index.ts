/**
 * Inlining a template's CSS once, when the template is loaded, instead of into every letter.
 *
 * The template, with its partials expanded, is written as one HTML document with a placeholder
 * for every Handlebars statement; juice inlines that document exactly as it inlines a letter
 * (same function, same options, same stylesheet); the inlined HTML between the placeholders
 * becomes the static text of a new syntax tree around the original statements, compiled with
 * the same options and helpers. Merging a row into it gives the letter juice would have given.
 *
 * That holds only when nothing the inliner looks at depends on the merge (see check.ts);
 * when in doubt the template is inlined per letter, and `reason` says why. Field analysis and
 * every refusal check have already run on the original files before this is called.
 */
import type Handlebars from 'handlebars';
import { inlineCss, inlinedSelectors, STYLE_ANCHORS } from '../inline.js';
import { sameShape, scanHtml } from '../html-scan.js';
import { contentValues, flatten, NotOnce, rebuild, serialize, type Mark, type PartialAst } from './ast.js';
import { checkMarks } from './check.js';
import { selectorNeeds } from './selectors.js';

export type Inlining = 'once' | 'per-letter';

export interface OnceInput {
  hb: typeof Handlebars;
  /** The parsed template; not modified. */
  ast: hbs.AST.Program;
  file: string;
  /** A partial's parsed tree by name (all partials were found when the template was checked). */
  partial: (name: string) => PartialAst;
  /** The stylesheet inlineCss is given for every letter: styles.css then <name>.css. */
  css: string;
  /** Fields a row must fill (with more than whitespace) to be rendered at all. */
  required: ReadonlySet<string>;
  options: CompileOptions;
}

export type OnceResult =
  | { inlining: 'once'; compiled: Handlebars.TemplateDelegate }
  | { inlining: 'per-letter'; reason: string };

export function inlineOnce(input: OnceInput): OnceResult {
  try {
    return { inlining: 'once', compiled: compileInlined(input) };
  } catch (err) {
    if (err instanceof NotOnce) return { inlining: 'per-letter', reason: err.message };
    const problem = err instanceof Error ? err.message : String(err);
    return { inlining: 'per-letter', reason: `inlining the template once failed: ${problem}` };
  }
}

function compileInlined(input: OnceInput): Handlebars.TemplateDelegate {
  const items = flatten(structuredClone(input.ast), input.file, input.partial);
  const { token, pattern } = placeholders(serialize(items, () => '\n', []), input.css);
  const marks: Mark[] = [];
  const html = serialize(items, token, marks, (node) => alwaysPrints(node, input.required));

  const events = scanHtml(html);
  if (!events) throw new NotOnce('the HTML of the template could not be followed (an unterminated tag or comment?)');
  checkStylePlace(html, marks.length > 0 ? html.search(pattern) : html.length);
  const styleBlocks = events.flatMap((e) => (e.type === 'raw' && e.name === 'style' ? [html.slice(e.start, e.end)] : []));
  const needs = selectorNeeds(inlinedSelectors([input.css, ...styleBlocks].join('\n')));
  checkMarks(html, events, marks, pattern, needs);

  const inlined = inlineCss(html, input.css);
  if (!sameShape(html, inlined)) {
    throw new NotOnce("the inliner's HTML parser reads the template differently (an unclosed or misnested element?)");
  }
  const body = rebuild(items, gaps(inlined, pattern, marks.length)[Symbol.iterator]());
  const program: hbs.AST.Program = { type: 'Program', body, blockParams: [], loc: input.ast.loc };

  // Whitespace control runs again when the tree is compiled; it must not change the new text.
  const again = input.hb.parse(structuredClone(program) as unknown as string);
  const before = contentValues(program);
  const after = contentValues(again);
  if (before.length !== after.length || before.some((value, k) => value !== after[k])) {
    throw new NotOnce('a "~" whitespace control next to a removed <style> block or a partial');
  }
  input.hb.precompile(structuredClone(program), input.options); // compiler errors now, not on the first row
  return input.hb.compile(program, input.options);
}

/** Helpers that print something for any non-blank value (or fail). */
const PRINTS_ITS_VALUE = new Set(['upper', 'lower', 'titleCase', 'formatDate']);

/**
 * `{{...}}` that can never print "": `{{image ...}}` (a data: URI, or an error), and a required
 * field printed as it is or through upper, lower, titleCase or formatDate (a row that leaves a
 * required field blank is refused before rendering).
 */
function alwaysPrints(node: hbs.AST.MustacheStatement, required: ReadonlySet<string>): boolean {
  const helper = node.path as hbs.AST.PathExpression;
  if (helper.type !== 'PathExpression') return false;
  if (helper.original === 'image' && node.params.length === 1) return true;
  const value = node.params.length === 0 ? helper : PRINTS_ITS_VALUE.has(helper.original) ? node.params[0] : undefined;
  return value?.type === 'PathExpression' && required.has((value as hbs.AST.PathExpression).parts.join('.'));
}

/** Placeholders `<prefix><n>q`, with a prefix found nowhere in the template or the stylesheet. */
function placeholders(...texts: string[]): { token: (i: number) => string; pattern: RegExp } {
  const all = texts.join('\n').toLowerCase();
  let prefix = 'hbsmark';
  while (all.includes(prefix)) prefix += 'x';
  return { token: (i) => `${prefix}${i}q`, pattern: new RegExp(`${prefix}(\\d+)q`, 'g') };
}

/**
 * inlineCss puts the stylesheet after the first <head>, <html> or leading doctype. The place
 * must be in the static start of the template, before any statement, to be the same in every
 * letter (values cannot add tags: `<` is always escaped).
 */
function checkStylePlace(html: string, firstMark: number): void {
  for (const { tag, at } of STYLE_ANCHORS) {
    const named = html.search(tag);
    if (named === -1) continue; // no letter can have it either
    const found = at.exec(html);
    if (found && found.index <= named && found.index + found[0].length <= firstMark) return;
    throw new NotOnce('where the stylesheet goes (after <head>, <html> or the doctype) depends on the merge');
  }
}

/** The inlined HTML between the placeholders, which must all be there, once each, in order. */
function gaps(html: string, pattern: RegExp, count: number): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of html.matchAll(pattern)) {
    if (Number(m[1]) !== out.length) throw new NotOnce('the inliner moved or dropped a statement');
    out.push(html.slice(last, m.index));
    last = m.index + m[0].length;
  }
  if (out.length !== count) throw new NotOnce('the inliner moved or dropped a statement');
  out.push(html.slice(last));
  return out;
}
