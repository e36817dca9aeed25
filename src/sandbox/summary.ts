/**
 * What the inbox knows about a received letter without rendering it: the template named by
 * `<meta name="canvas-letters-template" content="...">` (never guessed), the `<title>` as a
 * subject, and plain text for searching. Derived lazily and cached per letter object.
 */
import type { ReceivedLetter } from './types.js';

export interface LetterSummary {
  id: string;
  receivedAt: string;
  patientKey: string;
  providerKey: string;
  practiceLocationKey: string;
  size: number;
  /** From the canvas-letters-template meta tag; null when the letter has none. */
  template: string | null;
  /** The letter's <title>; null when it has none (or it is blank). */
  subject: string | null;
}

const LATIN1 =
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro para middot ' +
  'cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml ' +
  'Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig ' +
  'agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ' +
  'ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml';
/** Named references: the basic five, Latin-1 (U+00A0..U+00FF, in order) and common punctuation. */
const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'",
  ndash: '\u2013', mdash: '\u2014', lsquo: '\u2018', rsquo: '\u2019', ldquo: '\u201c', rdquo: '\u201d', hellip: '\u2026', bull: '\u2022', euro: '\u20ac', trade: '\u2122',
  ...Object.fromEntries(LATIN1.split(' ').map((name, i) => [name, String.fromCharCode(0xa0 + i)])),
};
const MAX_FIELD = 300;

/** Decode the character references that matter for titles, attributes and search text. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\ufffd';
    }
    return NAMED[ref] ?? NAMED[ref.toLowerCase()] ?? whole;
  });
}

function clean(text: string): string | null {
  const out = decodeEntities(text).replace(/\s+/g, ' ').trim().slice(0, MAX_FIELD);
  return out === '' ? null : out;
}

/** Attributes of one start tag's text (after the tag name), lower-cased names. */
function attributes(tag: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of tag.matchAll(re)) {
    const name = (m[1] ?? '').toLowerCase();
    if (!attrs.has(name)) attrs.set(name, m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** Content of `<meta name="canvas-letters-template" content="...">`, in any attribute order. */
export function templateOf(html: string): string | null {
  for (const m of html.matchAll(/<meta\b((?:[^>"']|"[^"]*"|'[^']*')*)>/gi)) {
    const attrs = attributes(m[1] ?? '');
    if (attrs.get('name')?.trim().toLowerCase() === 'canvas-letters-template') return clean(attrs.get('content') ?? '');
  }
  return null;
}

/** Text of the first <title> element. */
export function subjectOf(html: string): string | null {
  const m = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(html);
  return m ? clean(m[1] ?? '') : null;
}

/** Visible text of a letter body: no head, styles, scripts, comments or tags. */
export function textOf(html: string): string {
  const stripped = html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(head|style|script|template|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ');
  return decodeEntities(stripped).replace(/\s+/g, ' ').trim();
}

/** Lower case without accents, so "nunez" finds "Núñez". */
export function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

const summaries = new WeakMap<ReceivedLetter, LetterSummary>();
const haystacks = new WeakMap<ReceivedLetter, string>();
const texts = new WeakMap<ReceivedLetter, string>();

function letterText(letter: ReceivedLetter): string {
  let text = texts.get(letter);
  if (text === undefined) texts.set(letter, (text = textOf(letter.content)));
  return text;
}

export function summarize(letter: ReceivedLetter): LetterSummary {
  let s = summaries.get(letter);
  if (!s) {
    const { id, receivedAt, patientKey, providerKey, practiceLocationKey, size, content } = letter;
    s = { id, receivedAt, patientKey, providerKey, practiceLocationKey, size, template: templateOf(content), subject: subjectOf(content) };
    summaries.set(letter, s);
  }
  return s;
}

/** Split a search into folded terms; every term must occur somewhere in the letter. */
export function searchTerms(q: string): string[] {
  return fold(q).split(/\s+/).filter((t) => t !== '');
}

/** True when every term occurs in the letter's id, time, keys, template, subject or text. */
export function matches(letter: ReceivedLetter, terms: readonly string[]): boolean {
  if (terms.length === 0) return true;
  let hay = haystacks.get(letter);
  if (hay === undefined) {
    const s = summarize(letter);
    const fields = [s.id, s.receivedAt, s.patientKey, s.providerKey, s.practiceLocationKey, s.template ?? '', s.subject ?? ''];
    hay = fold([...fields, letterText(letter)].join('\n'));
    haystacks.set(letter, hay);
  }
  const h = hay;
  return terms.every((t) => h.includes(t));
}

/** Where a search hit the letter text: a short excerpt and the hit's range in it. */
export interface TextMatch {
  text: string;
  start: number;
  end: number;
}

const BEFORE = 40;
const AFTER = 80;

/** The excerpt around the earliest hit of any term in the letter's text; null when no term is in the text. */
export function textMatch(letter: ReceivedLetter, terms: readonly string[]): TextMatch | null {
  if (terms.length === 0) return null;
  const text = letterText(letter);
  let folded = '';
  const origin: number[] = []; // folded index -> text index
  for (let i = 0; i < text.length; ) {
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    const f = fold(ch);
    folded += f;
    for (let k = 0; k < f.length; k++) origin.push(i);
    i += ch.length;
  }
  origin.push(text.length);
  let best: { at: number; len: number } | undefined;
  for (const t of terms) {
    const at = folded.indexOf(t);
    if (at >= 0 && (!best || at < best.at)) best = { at, len: t.length };
  }
  if (!best) return null;
  const hitStart = origin[best.at]!;
  const last = origin[best.at + best.len - 1]!;
  const hitEnd = last + String.fromCodePoint(text.codePointAt(last)!).length;
  let from = Math.max(0, hitStart - BEFORE);
  let to = Math.min(text.length, hitEnd + AFTER);
  if (from > 0) from = Math.min(hitStart, text.indexOf(' ', from) + 1 || hitStart);
  if (to < text.length) to = Math.max(hitEnd, text.lastIndexOf(' ', to));
  const lead = from > 0 ? '…' : '';
  const excerpt = lead + text.slice(from, to) + (to < text.length ? '…' : '');
  return { text: excerpt, start: lead.length + hitStart - from, end: lead.length + hitEnd - from };
}
