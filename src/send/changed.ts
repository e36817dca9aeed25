/**
 * Which rows recorded sent would now make a different letter (an edited template, partial or
 * stylesheet): each is rendered again from today's templates, at the render date its ledger record
 * holds (so `{{today}}` alone never makes a difference), and its sha256 compared with the one
 * recorded. Only rows whose record has a hash are rendered; one template set per distinct date.
 * And which rows to send would send a letter again because their template's merge fields were
 * edited (reshapedRows): their letter keys are new, but the ledger holds a letter of that template
 * to the same three keys, made with other fields.
 */
import { createHash } from 'node:crypto';
import type { Ledger, LedgerRecord } from '../ledger/ledger.js';
import { fieldsSignature } from '../plan/letter-key.js';
import { planRows } from '../plan/replay.js';
import type { Plan } from '../plan/validate.js';
import type { TemplateSet } from '../templates/index.js';
import type { Keys } from '../types.js';

/** What the ledger recorded of a sent letter. */
export interface SentLetter {
  contentSha256: string;
  renderDate: string;
  /** When it was recorded sent (ISO time), when known. */
  sentAt?: string;
}

/** The sha256 (hex) of a letter's exact content string, as UTF-8: what the ledger records. */
export function contentSha256(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/**
 * The rows of `sent` (row number → its recorded letter) whose letter would now differ, found in one
 * streaming pass over the file (it stops after the last of them). A letter that can no longer be
 * made at its recorded date (the date unreadable, or rendering fails) counts as differing.
 */
export async function changedRows(plan: Plan, sent: ReadonlyMap<number, SentLetter>): Promise<Set<number>> {
  const changed = new Set<number>();
  if (sent.size === 0) return changed;
  const sets = new Map<string, TemplateSet | undefined>([[plan.templates.renderDate, plan.templates]]);
  const setAt = (date: string): TemplateSet | undefined => {
    if (!sets.has(date)) {
      let set: TemplateSet | undefined;
      try {
        set = plan.templates.atDate(date);
      } catch {
        set = undefined; // not a date: every letter recorded with it counts as differing
      }
      sets.set(date, set);
    }
    return sets.get(date);
  };
  let left = sent.size;
  for await (const { planned, letter } of planRows(plan)) {
    const was = sent.get(planned.row);
    if (was === undefined || letter === undefined) continue;
    if (!sameLetter(setAt(was.renderDate), letter, was.contentSha256)) changed.add(planned.row);
    if (--left === 0) break;
  }
  return changed;
}

function sameLetter(set: TemplateSet | undefined, letter: { template: { name: string }; data: Record<string, string> }, sha256: string): boolean {
  if (set === undefined) return false;
  try {
    return contentSha256(set.get(letter.template.name).renderLetter(letter.data)) === sha256;
  } catch {
    return false;
  }
}

/** A letter to send, as reshapedRows looks it up. */
export interface KeyedLetter extends Keys {
  row: number;
  template: string;
}

type SentLookup = Pick<Ledger, 'fieldSignatures' | 'sentFor'>;

/** Ledger lookups at once. */
const SENT_FOR_CHUNK = 2_000;

/**
 * Of the plan's rows to send, those whose template's merge fields were edited since the ledger
 * recorded a letter of that template to the same three keys (read in one pass over the file, and
 * only when some template's recorded field signature is not its current one): that earlier record.
 */
export async function reshapedRows(plan: Plan, ledger: SentLookup, toSend: readonly number[]): Promise<Map<number, LedgerRecord>> {
  const current = reshapedTemplates(ledger, (name) => plan.templates.get(name).fields.all);
  if (current.size === 0) return new Map();
  const wanted = new Set(toSend);
  const last = Math.max(...toSend);
  const letters: KeyedLetter[] = [];
  for await (const { planned } of planRows(plan)) {
    if (wanted.has(planned.row) && current.has(planned.template)) letters.push({ row: planned.row, template: planned.template, ...planned.keys });
    if (planned.row >= last) break;
  }
  return earlierLetters(ledger, letters, current);
}

/**
 * Templates whose letters the ledger recorded with a field signature other than the current one,
 * each with its current signature (`fields` throws for a template that no longer loads: left out).
 */
export function reshapedTemplates(ledger: Pick<Ledger, 'fieldSignatures'>, fields: (template: string) => readonly string[]): Map<string, string> {
  const reshaped = new Map<string, string>();
  for (const [template, recorded] of ledger.fieldSignatures()) {
    let now: string;
    try {
      now = fieldsSignature(fields(template));
    } catch {
      continue;
    }
    if ([...recorded].some((sig) => sig !== now)) reshaped.set(template, now);
  }
  return reshaped;
}

/**
 * For each letter, the latest record sent with its template to its keys under another field
 * signature (`current`: by template), unless a letter with the current fields was sent to them
 * since the edit: then this one differs by its values, a new letter.
 */
export function earlierLetters(ledger: Pick<Ledger, 'sentFor'>, letters: readonly KeyedLetter[], current: ReadonlyMap<string, string>): Map<number, LedgerRecord> {
  const found = new Map<number, LedgerRecord>();
  const id = (l: { template: string } & Keys) => JSON.stringify([l.template, l.patientKey, l.providerKey, l.practiceLocationKey]);
  for (let i = 0; i < letters.length; i += SENT_FOR_CHUNK) {
    const chunk = letters.slice(i, i + SENT_FOR_CHUNK);
    const latest = new Map<string, LedgerRecord | null>(); // null: a letter with the current fields was sent
    for (const rec of ledger.sentFor(chunk)) {
      if (rec.fieldsSha256 === undefined || latest.get(id(rec)) === null) continue;
      latest.set(id(rec), rec.fieldsSha256 === current.get(rec.template) ? null : rec); // oldest first: the last wins
    }
    for (const l of chunk) {
      const rec = latest.get(id(l));
      if (rec) found.set(l.row, rec);
    }
  }
  return found;
}
