/**
 * Which rows recorded sent would now make a different letter (an edited template, partial or
 * stylesheet): each is rendered again from today's templates, at the render date its ledger record
 * holds (so `{{today}}` alone never makes a difference), and its sha256 compared with the one
 * recorded. Only rows whose record has a hash are rendered; one template set per distinct date.
 */
import { createHash } from 'node:crypto';
import { planRows } from '../plan/replay.js';
import type { Plan } from '../plan/validate.js';
import type { TemplateSet } from '../templates/index.js';

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
  const setAt = templatesAt(plan);
  let left = sent.size;
  for await (const { planned, letter } of planRows(plan)) {
    const was = sent.get(planned.row);
    if (was === undefined || letter === undefined) continue;
    if (!sameLetter(setAt(was.renderDate), letter, was.contentSha256)) changed.add(planned.row);
    if (--left === 0) break;
  }
  return changed;
}

/** The plan's templates at a render date, one set per distinct date (undefined for a date that is not one). */
export function templatesAt(plan: Plan): (date: string) => TemplateSet | undefined {
  const sets = new Map<string, TemplateSet | undefined>([[plan.templates.renderDate, plan.templates]]);
  return (date) => {
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
}

/** Whether the row's letter, rendered with `set`, has this sha256 (false when it cannot be rendered). */
export function sameLetter(set: TemplateSet | undefined, letter: { template: { name: string }; data: Record<string, string> }, sha256: string | undefined): boolean {
  if (set === undefined || sha256 === undefined) return false;
  try {
    return contentSha256(set.get(letter.template.name).renderLetter(letter.data)) === sha256;
  } catch {
    return false;
  }
}
