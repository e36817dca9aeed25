/**
 * Letters whose template's merge fields were edited. A letter key hashes the values of the fields
 * its template uses, so an edit that makes a template print another column (or stop printing one)
 * gives every row a new key: nothing in the ledger matches, and every letter would go out again.
 * The ledger records each letter's fields signature (fieldsSignature); a fresh row to send whose
 * template has letters recorded under another signature is matched to those letters by template
 * and its three keys. Rendered at a sent one's date, a row that gives its bytes is that letter
 * (`same`: skipped). Otherwise the row `differs`: skipped as changed, or sent with
 * --resend-changed, after which its own key is sent. The earlier letters keep holding: a new letter
 * to a patient who had a letter of that template before the edit waits for --resend-changed too.
 * That is the price of never sending a letter twice: nothing tells which row a letter was.
 */
import { resolve } from 'node:path';
import type { Ledger, LedgerRecord } from '../ledger/ledger.js';
import { fieldsSignature } from '../plan/letter-key.js';
import { planRows } from '../plan/replay.js';
import type { Plan } from '../plan/validate.js';
import type { Keys } from '../types.js';
import { sameLetter, templatesAt } from './changed.js';

/** A letter sent before, under other fields, that a row to send was matched to. */
export interface EarlierLetter {
  record: LedgerRecord;
  /**
   * `same`: the row gives that letter's bytes (skipped, already sent); `differs`: it may replace it
   * (skipped as changed, or sent with --resend-changed); `older` (send --approved): that letter was
   * sent after the preview, so the approved file is the older letter (skipped, never sent).
   */
  kind: 'same' | 'differs' | 'older';
}

/** A letter to send, as it is matched. */
export interface KeyedLetter extends Keys {
  row: number;
  template: string;
  /** The CSV file (absolute) and row it comes from: an earlier letter from the same file and row is preferred. */
  sourceFile: string;
}

type SentLookup = Pick<Ledger, 'fieldSignatures' | 'sentFor'>;

/** Ledger lookups at once. */
const SENT_FOR_CHUNK = 2_000;

/**
 * The plan's rows to send that match a letter sent under other fields of their template, read in
 * two passes over the file (only when some template's recorded signature is not its current one).
 */
export async function reshapedRows(plan: Plan, ledger: SentLookup, toSend: readonly number[]): Promise<Map<number, EarlierLetter>> {
  const current = reshapedTemplates(ledger, (name) => fieldsSignature(plan.templates.get(name).fields.all));
  if (current.size === 0 || toSend.length === 0) return new Map();
  const wanted = new Set(toSend);
  const last = lastOf(toSend);
  const sourceFile = resolve(plan.source.file);
  const letters: KeyedLetter[] = [];
  for await (const { planned } of planRows(plan)) {
    if (wanted.has(planned.row) && current.has(planned.template)) letters.push({ row: planned.row, template: planned.template, ...planned.keys, sourceFile });
    if (planned.row >= last) break;
  }
  const candidates = earlierCandidates(ledger, letters, current);
  const found = new Map<number, EarlierLetter>();
  if (candidates.size === 0) return found;
  const setAt = templatesAt(plan);
  const byRow = new Map(letters.map((l) => [l.row, l]));
  const end = lastOf([...candidates.keys()]);
  for await (const { planned, letter } of planRows(plan)) {
    const list = candidates.get(planned.row);
    if (list && letter) found.set(planned.row, pick(byRow.get(planned.row)!, list, (rec) => sameLetter(setAt(rec.renderDate ?? ''), letter, rec.contentSha256)));
    if (planned.row >= end) break;
  }
  return found;
}

/**
 * Templates whose letters the ledger recorded (sent, unknown or pending) under a field signature
 * other than the current one, each with its current signature. A template whose signature cannot
 * be told (`signature` throws or gives undefined) counts with '': every recorded one is other.
 */
export function reshapedTemplates(ledger: Pick<Ledger, 'fieldSignatures'>, signature: (template: string) => string | undefined): Map<string, string> {
  const reshaped = new Map<string, string>();
  for (const [template, recorded] of ledger.fieldSignatures()) {
    let now: string | undefined;
    try {
      now = signature(template);
    } catch {
      now = undefined;
    }
    if (now === undefined) reshaped.set(template, '');
    else if ([...recorded].some((sig) => sig !== now)) reshaped.set(template, now);
  }
  return reshaped;
}

/** For each letter, the letters sent, unknown or pending with its template to its keys under another signature (`current`: by template), oldest first. */
export function earlierCandidates(ledger: Pick<Ledger, 'sentFor'>, letters: readonly KeyedLetter[], current: ReadonlyMap<string, string>): Map<number, LedgerRecord[]> {
  const found = new Map<number, LedgerRecord[]>();
  const id = (l: { template: string } & Keys) => JSON.stringify([l.template, l.patientKey, l.providerKey, l.practiceLocationKey]);
  for (let i = 0; i < letters.length; i += SENT_FOR_CHUNK) {
    const chunk = letters.slice(i, i + SENT_FOR_CHUNK);
    const byId = new Map<string, LedgerRecord[]>();
    for (const rec of ledger.sentFor(chunk)) {
      if (rec.fieldsSha256 === undefined || rec.fieldsSha256 === current.get(rec.template)) continue;
      byId.set(id(rec), [...(byId.get(id(rec)) ?? []), rec]);
    }
    for (const l of chunk) {
      const list = byId.get(id(l));
      if (list) found.set(l.row, list);
    }
  }
  return found;
}

/**
 * What a row is to the letters of its template sent (or unknown, or pending) to its keys under
 * other fields: the sent letter it renders the bytes of (`same`); else the one from its own file and
 * row, else the latest (`differs`, or `older`): the row is held. None is ever freed by a letter sent
 * in its place: a row number does not say which letter it is.
 */
export function pick(l: KeyedLetter, candidates: readonly LedgerRecord[], same: (rec: LedgerRecord) => boolean, older?: (rec: LedgerRecord) => boolean): EarlierLetter {
  const equal = candidates.find((rec) => rec.status === 'sent' && same(rec));
  if (equal) return { record: equal, kind: 'same' };
  const record = candidates.find((rec) => rec.sourceFile === l.sourceFile && rec.row === l.row) ?? candidates[candidates.length - 1]!;
  return { record, kind: older?.(record) ? 'older' : 'differs' };
}

/** The largest of many numbers (no spread: a file of any size). */
function lastOf(rows: Iterable<number>): number {
  let last = 0;
  for (const row of rows) if (row > last) last = row;
  return last;
}
