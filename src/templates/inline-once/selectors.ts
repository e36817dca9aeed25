/**
 * What the CSS selectors juice inlines look at, beyond an element's tag, classes, id and
 * ancestors. Inlining a template once is only the same as inlining every letter when no
 * selector can see what the merge changes: this scan finds the selectors that might.
 *
 * It reads selector text, not a full parse, and errs on the side of finding too much: a "+"
 * anywhere outside an attribute selector counts as a sibling combinator, and any pseudo-class
 * not known to be safe counts as unsafe.
 */

export interface SelectorNeeds {
  /** Attribute names tested by attribute selectors, lower-cased (`lang` for :lang()). */
  attributes: Set<string>;
  /** First selector part that depends on siblings or position: `+`, `~`, :first-child, :nth-*. */
  structural?: string;
  /** First pseudo-class (or construct) whose result could depend on text or content: :empty, :has. */
  unsafe?: string;
}

/** Pseudo-classes that look at an element's siblings and its place among them. */
const STRUCTURAL = new Set([
  'first-child', 'last-child', 'only-child', 'nth-child', 'nth-last-child',
  'first-of-type', 'last-of-type', 'only-of-type', 'nth-of-type', 'nth-last-of-type',
]);

/**
 * Pseudo-classes whose result depends only on the element, its attributes' presence and its
 * ancestors (or that never match, or that juice skips or only uses for pseudo-elements).
 * The arguments of :not/:is/:where are scanned like the rest of the selector.
 */
const SAFE = new Set([
  'not', 'is', 'where', 'matches', 'root', 'link', 'any-link', 'visited', 'hover', 'active',
  'focus', 'focus-visible', 'focus-within', 'lang', 'before', 'after',
]);

const STRINGS = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g;

export function selectorNeeds(selectors: readonly string[]): SelectorNeeds {
  const needs: SelectorNeeds = { attributes: new Set() };
  for (const raw of selectors) {
    const text = raw.replace(STRINGS, '""');
    for (const m of text.matchAll(/\[([^\]]*)\]/g)) {
      const inner = m[1]!.trim().replace(/^(?:[\w-]*|\*)\|(?!=)/, '');
      const name = /^[^\s~|^$*!=]+/.exec(inner)?.[0];
      if (name) needs.attributes.add(name.toLowerCase());
      else needs.unsafe ??= `[${m[1]}]`;
    }
    const outside = text.replace(/\[[^\]]*\]/g, '[]');
    if (/[+~]/.test(outside)) needs.structural ??= `"${raw.trim()}" (sibling combinator)`;
    if (/[&\\]/.test(outside)) needs.unsafe ??= `"${raw.trim()}"`;
    for (const m of outside.matchAll(/::?(-?[A-Za-z][\w-]*)/g)) {
      const name = m[1]!.toLowerCase();
      if (STRUCTURAL.has(name)) needs.structural ??= `"${raw.trim()}" (:${name})`;
      else if (!SAFE.has(name)) needs.unsafe ??= `"${raw.trim()}" (:${name})`;
      else if (name === 'lang') needs.attributes.add('lang');
    }
  }
  return needs;
}
