/**
 * What the inbox knows about a received letter without rendering it: the template named by
 * `<meta name="canvas-letters-template" content="...">` (never guessed), the `<title>` as a
 * subject, and plain text for searching. Derived lazily and cached per letter object.
 */
import { decodeEntities, fold, textOf } from '../html-text.js';
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
  /** The approval it was sent under (send --approved); null when none. */
  approvalId: string | null;
}

const MAX_FIELD = 300;


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
    const approvalId = letter.approvalId ?? null;
    s = { id, receivedAt, patientKey, providerKey, practiceLocationKey, size, template: templateOf(content), subject: subjectOf(content), approvalId };
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
