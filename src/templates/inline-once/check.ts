/**
 * Where the Handlebars statements of a template sit in its HTML, and whether inlining the CSS
 * into the template once gives every letter exactly what inlining the letter itself would.
 *
 * The document checked is the template with a placeholder (a mark) for each statement. Values
 * merged into a letter are escaped by Handlebars (no `<`, `&`, quotes), so in text or in a
 * quoted attribute value they cannot add elements or attributes. What remains to rule out is
 * everything the inliner could see differently in a letter than in the template:
 *
 *  - a statement inside a tag but outside an attribute value (`<p {{#if x}}class="a"{{/if}}>`),
 *    in an unquoted value, in a comment, or in a <style> or <script> block;
 *  - a statement in a class, id or style attribute, or in an attribute a selector tests;
 *  - an attribute value the merge could leave empty (an empty attribute is written bare);
 *  - a block whose start, {{else}} and end are not at the same place in the element tree
 *    (`{{#if x}}<div class="a">{{else}}<div class="b">{{/if}}`), or that holds a <style> block;
 *  - selectors that look at siblings (`+`, `~`, :first-child, :nth-*) when a block adds or
 *    removes elements, and selectors that look at content (:empty, :has, ...) at all.
 *
 * Each check throws NotOnce with the reason; the template is then inlined per letter.
 */
import { NotOnce, type Mark } from './ast.js';
import { type HtmlAttr, type HtmlEvent, VOID_ELEMENTS } from '../html-scan.js';
import type { SelectorNeeds } from './selectors.js';

interface Found {
  mark: number;
  index: number;
  length: number;
}

const DYNAMIC_ATTRIBUTES = new Set(['class', 'id', 'style']);

/** Check where every mark sits in the template's HTML (see the file comment). Throws NotOnce with the reason. */
export function checkMarks(html: string, events: HtmlEvent[], marks: Mark[], token: RegExp, needs: SelectorNeeds): void {
  const walk = new MarkWalk(html, marks, token, needs);
  events.forEach((e, at) => walk.event(e, at));
  walk.finish();
}

function fail(problem: string): never {
  throw new NotOnce(problem);
}

/** One pass over the HTML events: each mark is visited once, at the place it sits in the element tree. */
class MarkWalk {
  private readonly seen = new Set<number>();
  /** block → where its start mark is */
  private readonly blockAt = new Map<number, string>();
  /** blocks open in text at the current point */
  private readonly openInText = new Set<number>();
  private readonly addsElements = new Set<number>();
  private readonly stack: { name: string; at: number }[] = [];

  constructor(
    private readonly html: string,
    private readonly marks: Mark[],
    private readonly token: RegExp,
    private readonly needs: SelectorNeeds,
  ) {}

  /** Check the marks of one HTML event (the `at`-th). */
  event(e: HtmlEvent, at: number): void {
    if (e.type === 'text') return this.visit(this.find(e.start, e.end), `t${this.stack.map((s) => s.at).join('.')}`, true);
    if (e.type === 'start') return this.startTag(e, at);
    const found = this.find(e.start, e.end);
    if (e.type === 'end') {
      for (const block of this.openInText) this.addsElements.add(block);
      if (found.length > 0) fail(`${this.label(found[0]!)} inside the </${e.name}> tag`);
      if (this.stack.pop()?.name !== e.name) fail(`</${e.name}> does not close the element opened last`);
    } else if (found.length > 0 && e.type === 'raw' && (e.name === 'title' || e.name === 'textarea')) {
      this.visit(found, `r${at}`, false);
    } else if (found.length > 0) {
      fail(`${this.label(found[0]!)} inside ${e.type === 'raw' ? `a <${e.name}> block` : 'an HTML comment or declaration'}`);
    }
  }

  /** After the last event: every mark was seen, and the stylesheet's selectors do not depend on the merge. */
  finish(): void {
    const { marks, needs } = this;
    if (this.seen.size !== marks.length) fail('the template could not be followed');
    if (needs.unsafe && marks.length > 0) fail(`the stylesheet's selector ${needs.unsafe} could depend on the merged content`);
    if (needs.structural && this.addsElements.size > 0) {
      const block = marks.find((m) => m.kind === 'open' && this.addsElements.has(m.block))!;
      fail(`${block.label} adds or removes elements and the selector ${needs.structural} depends on sibling elements`);
    }
  }

  /** The marks in html[from, to). */
  private find(from: number, to: number): Found[] {
    return [...this.html.slice(from, to).matchAll(this.token)].map((m) => ({ mark: Number(m[1]), index: from + m.index, length: m[0].length }));
  }

  private label(f: Found): string {
    return this.marks[f.mark]!.label;
  }

  /** Mark each found mark seen; a block's {{else}} and end must be where its start is. */
  private visit(found: Found[], where: string, inText: boolean): void {
    for (const f of found) {
      const mark = this.marks[f.mark];
      if (!mark || this.seen.has(f.mark)) return fail('the template could not be followed');
      this.seen.add(f.mark);
      if (mark.kind === 'open') {
        this.blockAt.set(mark.block, where);
        if (inText) this.openInText.add(mark.block);
      } else if (mark.kind !== 'hole' && this.blockAt.get(mark.block) !== where) {
        fail(`${mark.label} starts and ${mark.kind === 'else' ? 'has its {{else}}' : 'ends'} in different places of the HTML`);
      }
      if (mark.kind === 'close') this.openInText.delete(mark.block);
    }
  }

  private startTag(e: Extract<HtmlEvent, { type: 'start' }>, at: number): void {
    if (e.name === 'svg' || e.name === 'math') fail(`the template has an <${e.name}> element`);
    for (const block of this.openInText) {
      this.addsElements.add(block);
      if (e.name === 'style') fail(`a <style> block inside ${this.marks.find((m) => m.block === block)!.label}`);
    }
    const found = this.find(e.start, e.end);
    e.attrs.forEach((a, k) => {
      const inside = found.filter((f) => f.index >= a.valueStart && f.index + f.length <= a.valueEnd);
      if (inside.length > 0) this.attribute(e.name, a, `a${at}.${k}`, inside);
    });
    const outside = found.find((f) => !this.seen.has(f.mark));
    if (outside) fail(`${this.label(outside)} inside the <${e.name}> tag, outside an attribute value`);
    if (!VOID_ELEMENTS.has(e.name)) this.stack.push({ name: e.name, at });
  }

  /** Marks inside an attribute value: a quoted value of an attribute no selector or inliner looks at, never left empty. */
  private attribute(tag: string, a: HtmlAttr, where: string, found: Found[]): void {
    const first = this.label(found[0]!);
    if (!a.quote) fail(`${first} in an unquoted ${a.name} attribute of <${tag}>`);
    if (DYNAMIC_ATTRIBUTES.has(a.name)) fail(`${first} in the ${a.name} attribute of <${tag}>`);
    if (this.needs.attributes.has(a.name)) fail(`${first} in the ${a.name} attribute, which a CSS selector tests`);
    this.visit(found, where, false);
    if (!alwaysFilled(a, found, this.marks)) fail(`${first}: the ${a.name} attribute of <${tag}> could be empty`);
  }
}

/**
 * Whether an attribute value keeps some content whatever the merge gives: text outside every
 * block, or a hole known to be non-empty. An attribute whose value comes out empty is written
 * as a bare name (title=""  → title).
 */
function alwaysFilled(a: HtmlAttr, found: Found[], marks: Mark[]): boolean {
  let depth = 0;
  let filled = false;
  let last = a.valueStart;
  for (const f of found) {
    const mark = marks[f.mark]!;
    if (depth === 0 && f.index > last) filled = true;
    if (mark.kind === 'open') depth++;
    if (mark.kind === 'close') depth--;
    if (depth === 0 && mark.kind === 'hole' && mark.nonEmpty) filled = true;
    last = f.index + f.length;
  }
  return filled || a.valueEnd > last;
}
