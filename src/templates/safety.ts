/**
 * What a merge value or a template's own text may hold where a browser would read it as a URL
 * or as CSS, and the per-row check of merge values (precomputed per template by contexts.ts).
 *
 * A letter is shown in a browser, so what matters is what the browser reads: attribute values
 * after character references are decoded (`jav&#x61;script:`), URLs after leading spaces and
 * control characters are dropped and tabs and newlines removed (` JaVa\tScRiPt:`), CSS after
 * its escapes are decoded. Merge values are HTML-escaped by Handlebars, which the browser
 * undoes, so a value is checked as it is, and in upper and lower case when it has non-ASCII
 * letters (`ſ` becomes `S` in upper case, through the upper, lower and titleCase helpers).
 */

/** Schemes a merge value may give a link; `data:` only as an image. */
const MERGE_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'mailto', 'tel']);
/** Schemes that run script, refused anywhere in a template. */
const SCRIPT_SCHEMES: ReadonlySet<string> = new Set(['javascript', 'vbscript', 'livescript', 'mocha']);
const IMAGE_DATA = /^data:image\/(?:png|jpeg|gif|webp|svg\+xml)[;,]/i;

/** The URL as a browser's URL parser starts on it. */
function urlText(url: string): string {
  return url.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+/, '');
}

/** The scheme of a URL, lower-cased, or undefined for a relative URL. */
export function urlScheme(url: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(urlText(url));
  return m ? m[1]!.toLowerCase() : undefined;
}

/** A relative URL or one using http, https, mailto or tel, or an image data: URI. */
export function isSafeMergedUrl(url: string): boolean {
  const scheme = urlScheme(url);
  if (scheme === undefined || MERGE_SCHEMES.has(scheme)) return true;
  return scheme === 'data' && IMAGE_DATA.test(urlText(url));
}

/** A URL written in a template that runs script: javascript:, vbscript:, or data: other than an image. */
export function isScriptUrl(url: string): boolean {
  const scheme = urlScheme(url);
  if (scheme === undefined) return false;
  return SCRIPT_SCHEMES.has(scheme) || (scheme === 'data' && !IMAGE_DATA.test(urlText(url)));
}

/**
 * True when `prefix`, static text at the start of a URL attribute, already decides the URL's
 * scheme: it holds a character that cannot be part of a scheme (`:`, `/`, `?`, `#`, a space,
 * ...), or starts with one a scheme cannot start with. What follows it cannot change the scheme.
 */
export function fixesScheme(prefix: string): boolean {
  const text = urlText(prefix);
  return text !== '' && !/^[a-z][a-z0-9+.-]*$/i.test(text);
}

const NAMED: Readonly<Record<string, string>> = {
  colon: ':', Tab: '\t', NewLine: '\n', amp: '&', AMP: '&', lt: '<', LT: '<', gt: '>', GT: '>',
  quot: '"', QUOT: '"', apos: "'", num: '#', sol: '/', quest: '?', lpar: '(', rpar: ')',
  semi: ';', comma: ',', period: '.', plus: '+', lowbar: '_', excl: '!', equals: '=',
  bsol: '\\', lcub: '{', rcub: '}', lbrace: '{', rbrace: '}', lsqb: '[', rsqb: ']', nbsp: '\u00a0',
};

/**
 * Decode character references as a browser does in an attribute value: numeric ones with or
 * without `;`, and the named ones that stand for punctuation or whitespace (no named reference
 * stands for an ASCII letter or digit, so the others cannot change a scheme).
 */
export function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|([A-Za-z][A-Za-z0-9]*));?/g, (all: string, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name !== undefined) return Object.hasOwn(NAMED, name) && all.endsWith(';') ? NAMED[name]! : all;
    const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec!, 10); // the pattern captures dec when it has no hex or name
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
    return String.fromCodePoint(code);
  });
}

/** CSS as the CSS parser reads it: comments dropped, escapes decoded, lower case. */
function cssText(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?(?:\*\/|$)/g, '')
    .replace(/\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?/g, (_, hex: string) => {
      const code = parseInt(hex, 16);
      return code === 0 || code > 0x10ffff ? '\ufffd' : String.fromCodePoint(code);
    })
    .replace(/\\(.)/g, '$1')
    .toLowerCase();
}

const CSS_SCRIPT = /expression\s*\(|(?:java|vb)script\s*:|-moz-binding|behavior\s*:/;

/** Script in CSS written in a template or stylesheet (expression(), javascript: URLs, bindings). */
export function scriptInCss(css: string): { index: number; what: string } | undefined {
  const m = CSS_SCRIPT.exec(cssText(css));
  if (!m) return undefined;
  // The index is approximate when escapes or comments came before it: find the raw word if we can.
  const word = m[0].replace(/\s*[(:]$/, '');
  const raw = css.toLowerCase().indexOf(word);
  return { index: raw === -1 ? 0 : raw, what: `"${m[0].replace(/\s+/g, '')}"` };
}

/** What a merge value inside CSS may not contain: no URL, no script, no leaving the declaration. */
const CSS_UNSAFE = /url\(|expression|image-set|image\(|cross-fade|element\(|src\(|[;{}<>\\]/i;

export function isSafeCssValue(value: string): boolean {
  return !CSS_UNSAFE.test(value);
}

/** A check one field's value must pass in one place of a template. */
export interface ValueCheck {
  field: string;
  kind: 'url' | 'css';
  /** For 'url': decoded static text before and after the value in the attribute. */
  before: string;
  after: string;
  /** The place, for messages: `the href attribute of <a> (letter.hbs, line 3)`. */
  where: string;
}

export interface ValueProblem {
  field: string;
  message: string;
}

const URL_RULE = 'a link must be a relative path or use http, https, mailto or tel';
const CSS_RULE = 'a value in a style may not contain url(, expression, ;, {, }, <, > or \\';

function variants(value: string): string[] {
  return /[^\u0000-\u007f]/.test(value) ? [value, value.toUpperCase(), value.toLowerCase()] : [value];
}

/** The problems of one row's values (never quoting them), one per failed check. */
export function checkValues(checks: readonly ValueCheck[], data: Record<string, string>): ValueProblem[] {
  let problems: ValueProblem[] | undefined;
  for (const check of checks) {
    if (!Object.hasOwn(data, check.field)) continue;
    const value = data[check.field];
    if (typeof value !== 'string' || value === '') continue;
    const ok =
      check.kind === 'url'
        ? variants(value).every((v) => isSafeMergedUrl(check.before + v + check.after))
        : variants(value).every(isSafeCssValue);
    if (ok) continue;
    const rule = check.kind === 'url' ? `not allowed at the start of ${check.where}: ${URL_RULE}` : `not allowed in ${check.where}: ${CSS_RULE}`;
    (problems ??= []).push({ field: check.field, message: rule });
  }
  return problems ?? [];
}
