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

export function checkMarks(html: string, events: HtmlEvent[], marks: Mark[], token: RegExp, needs: SelectorNeeds): void {
  const seen = new Set<number>();
  const blockAt = new Map<number, string>(); // block → where its start mark is
  const openInText = new Set<number>(); // blocks open in text at the current point
  const addsElements = new Set<number>();
  const stack: { name: string; at: number }[] = [];

  const fail = (problem: string): never => {
    throw new NotOnce(problem);
  };
  const find = (from: number, to: number): Found[] =>
    [...html.slice(from, to).matchAll(token)].map((m) => ({ mark: Number(m[1]), index: from + m.index, length: m[0].length }));
  const label = (f: Found) => marks[f.mark]!.label;

  const visit = (found: Found[], where: string, inText: boolean) => {
    for (const f of found) {
      const mark = marks[f.mark];
      if (!mark || seen.has(f.mark)) return fail('the template could not be followed');
      seen.add(f.mark);
      if (mark.kind === 'open') {
        blockAt.set(mark.block, where);
        if (inText) openInText.add(mark.block);
      } else if (mark.kind !== 'hole' && blockAt.get(mark.block) !== where) {
        fail(`${mark.label} starts and ${mark.kind === 'else' ? 'has its {{else}}' : 'ends'} in different places of the HTML`);
      }
      if (mark.kind === 'close') openInText.delete(mark.block);
    }
  };

  const attribute = (tag: string, a: HtmlAttr, where: string, found: Found[]) => {
    const first = label(found[0]!);
    if (!a.quote) fail(`${first} in an unquoted ${a.name} attribute of <${tag}>`);
    if (DYNAMIC_ATTRIBUTES.has(a.name)) fail(`${first} in the ${a.name} attribute of <${tag}>`);
    if (needs.attributes.has(a.name)) fail(`${first} in the ${a.name} attribute, which a CSS selector tests`);
    visit(found, where, false);
    // An attribute whose value comes out empty is written as a bare name (title=""  → title).
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
    if (a.valueEnd > last) filled = true;
    if (!filled) fail(`${first}: the ${a.name} attribute of <${tag}> could be empty`);
  };

  const startTag = (e: Extract<HtmlEvent, { type: 'start' }>, at: number) => {
    if (e.name === 'svg' || e.name === 'math') fail(`the template has an <${e.name}> element`);
    for (const block of openInText) {
      addsElements.add(block);
      if (e.name === 'style') fail(`a <style> block inside ${marks.find((m) => m.block === block)!.label}`);
    }
    const found = find(e.start, e.end);
    e.attrs.forEach((a, k) => {
      const inside = found.filter((f) => f.index >= a.valueStart && f.index + f.length <= a.valueEnd);
      if (inside.length > 0) attribute(e.name, a, `a${at}.${k}`, inside);
    });
    const outside = found.find((f) => !seen.has(f.mark));
    if (outside) fail(`${label(outside)} inside the <${e.name}> tag, outside an attribute value`);
    if (!VOID_ELEMENTS.has(e.name)) stack.push({ name: e.name, at });
  };

  events.forEach((e, at) => {
    if (e.type === 'text') return visit(find(e.start, e.end), `t${stack.map((s) => s.at).join('.')}`, true);
    if (e.type === 'start') return startTag(e, at);
    const found = find(e.start, e.end);
    if (e.type === 'end') {
      for (const block of openInText) addsElements.add(block);
      if (found.length > 0) fail(`${label(found[0]!)} inside the </${e.name}> tag`);
      if (stack.pop()?.name !== e.name) fail(`</${e.name}> does not close the element opened last`);
    } else if (found.length > 0 && e.type === 'raw' && (e.name === 'title' || e.name === 'textarea')) {
      visit(found, `r${at}`, false);
    } else if (found.length > 0) {
      fail(`${label(found[0]!)} inside ${e.type === 'raw' ? `a <${e.name}> block` : 'an HTML comment or declaration'}`);
    }
  });

  if (seen.size !== marks.length) fail('the template could not be followed');
  if (needs.unsafe && marks.length > 0) fail(`the stylesheet's selector ${needs.unsafe} could depend on the merged content`);
  if (needs.structural && addsElements.size > 0) {
    const block = marks.find((m) => m.kind === 'open' && addsElements.has(m.block))!;
    fail(`${block.label} adds or removes elements and the selector ${needs.structural} depends on sibling elements`);
  }
}
