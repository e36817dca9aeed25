/**
 * CSS inlining for letters, and the source scans the template loader relies on.
 *
 * Only juice's synchronous `juice(html, options)` is used: juice's resource-loading entry
 * points fetch URLs and read files, which a letter must never do. juice parses with
 * htmlparser2 without decoding entities, so a fragment stays a fragment (no <html>/<body> is
 * added) and `&lt;script&gt;` escaped by Handlebars comes out exactly as it went in.
 *
 * The template loader also runs inlineCss, once, on a template's own HTML (its Handlebars
 * statements replaced by plain-text placeholders, see templates/inline-once/), so that most letters
 * need no inlining at all; juice's own `{{ }}` handling stays off for that call too.
 */
import juice from 'juice';

const JUICE_OPTIONS: juice.Options = {
  applyStyleTags: true,
  removeStyleTags: true,
  // The only <style> left in a letter holds media queries (print rules), which cannot be inlined.
  preserveMediaQueries: true,
  preserveFontFaces: false,
  preserveKeyFrames: false,
  preservePseudos: false,
  insertPreservedExtraCss: false,
  // Keep the author's markup as written: no width/height/bgcolor attributes added.
  applyWidthAttributes: false,
  applyHeightAttributes: false,
  applyAttributesTableElements: false,
  resolveCSSVariables: true,
  xmlMode: false,
};

/**
 * Inline `css` and the document's own <style> blocks into style attributes. `css` applies first,
 * so the document's <style> blocks win over it where specificity is equal (it is placed as the
 * first <style> of the <head>, or at the start of a fragment). Synchronous; no I/O.
 */
export function inlineCss(html: string, css: string): string {
  if (/<\/style/i.test(css)) throw new Error('inlineCss: the stylesheet contains "</style"');
  const source = css.trim() === '' ? html : withLeadingStyle(html, css);
  return withoutCodeBlocks(() => juice(source, JUICE_OPTIONS));
}

/**
 * Where the stylesheet goes, tried in order: after the first `<head>` tag, after the first
 * `<html>` tag, after a leading doctype; else at the very start. `tag` finds the first place
 * the element is named at all (used to check that the choice cannot depend on the merge).
 */
export const STYLE_ANCHORS: readonly { tag: RegExp; at: RegExp }[] = Object.freeze([
  { tag: /<head\b/i, at: /<head\b[^>]*>/i },
  { tag: /<html\b/i, at: /<html\b[^>]*>/i },
  { tag: /<!doctype/i, at: /^\s*<!doctype[^>]*>/i },
]);

function withLeadingStyle(html: string, css: string): string {
  const style = `<style>\n${css}\n</style>`;
  let anchor: RegExpExecArray | null = null;
  for (const { at } of STYLE_ANCHORS) if ((anchor = at.exec(html))) break;
  if (!anchor) return style + html;
  const at = anchor.index + anchor[0].length;
  return html.slice(0, at) + style + html.slice(at);
}

interface JuiceUtils {
  parseCSS(css: string): [string, unknown][];
}

/**
 * The selectors juice inlines from `css`, in order: rules outside @media, with declarations,
 * not skipped by "juice ignore" comments. Parsed by juice's own CSS parser (mensch); no I/O.
 */
export function inlinedSelectors(css: string): string[] {
  const { utils } = juice as unknown as { utils: JuiceUtils };
  return utils.parseCSS(css).map(([selector]) => selector);
}

/**
 * juice 12 added FreeMarker markers (`<#`, `</#`, `<@`, `</@`) to its default code blocks. They
 * would hide markup such as `<@x>` or `<#if>` typed into a CSV cell; our own calls run with no
 * code blocks at all (below), and the defaults are kept to the two juice 11 had (EJS, HBS), so
 * the FreeMarker ones never apply to any letter.
 */
for (const key of Object.keys(juice.codeBlocks)) if (key !== 'EJS' && key !== 'HBS') delete juice.codeBlocks[key];

/**
 * juice hides `{{ ... }}` and `<% ... %>` spans from its parser ("code blocks") and puts them
 * back afterwards, matching `JUICE_CODE_BLOCK_<n>_` markers anywhere in the text. After
 * Handlebars has run, such spans can only come from CSV values (`{` is not escaped), so they
 * could hide markup from the inliner or copy text elsewhere. Switch the feature off for our call.
 */
function withoutCodeBlocks<T>(run: () => T): T {
  const blocks = juice.codeBlocks;
  const saved = { ...blocks };
  for (const key of Object.keys(blocks)) delete blocks[key];
  try {
    return run();
  } finally {
    Object.assign(blocks, saved);
  }
}

function lineAt(source: string, index: number): number {
  let line = 1;
  for (let i = source.indexOf('\n'); i !== -1 && i < index; i = source.indexOf('\n', i + 1)) line++;
  return line;
}

function clip(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Value of an attribute in one start tag, quoted or not. */
function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? (m[2] ?? m[3] ?? m[4]) : undefined;
}

/**
 * `<link rel="stylesheet">` tags and `@import` rules in a template, partial or CSS file.
 * juice would drop them (or fetch them, with the resource functions we never call), so the
 * loader refuses them rather than let styles vanish silently.
 */
export function findStylesheetImports(source: string): { line: number; what: string }[] {
  const found: { index: number; what: string }[] = [];
  for (const m of source.matchAll(/<link\b[^>]*>/gi)) {
    const rel = attribute(m[0], 'rel');
    if (rel && /(^|\s)stylesheet(\s|$)/i.test(rel)) found.push({ index: m.index, what: clip(m[0]) });
  }
  for (const m of source.matchAll(/@import\b[^;\n]*;?/gi)) found.push({ index: m.index, what: clip(m[0]) });
  return found
    .sort((a, b) => a.index - b.index)
    .map(({ index, what }) => ({ line: lineAt(source, index), what }));
}

const REMOTE = /^\s*(?:https?:)?\/\//i;

/**
 * Remote images in HTML or CSS: `<img src>` / `srcset` and CSS `url()` pointing at http(s)://
 * or a protocol-relative `//host/...`. They are not embedded, so the letter depends on a server.
 */
export function findRemoteImages(html: string): string[] {
  const urls: string[] = [];
  for (const m of html.matchAll(/<img\b[^>]*>/gi)) {
    const src = attribute(m[0], 'src');
    if (src && REMOTE.test(src)) urls.push(src.trim());
    const srcset = attribute(m[0], 'srcset');
    for (const candidate of srcset?.split(',') ?? []) {
      const url = candidate.trim().split(/\s+/)[0];
      if (url && REMOTE.test(url)) urls.push(url);
    }
  }
  for (const m of html.matchAll(/url\(\s*(?:&quot;|&#39;|&#x27;|["'])?\s*([^"')\s]+)/gi)) {
    const url = m[1]!.replace(/&quot;$|&#39;$|&#x27;$/, '');
    if (REMOTE.test(url)) urls.push(url);
  }
  return [...new Set(urls)];
}
