/**
 * What the ledger says of each ready row before anything is sent: send it, already sent
 * (skipped), already sent but the letter now differs (skipped, or with --resend-changed sent
 * again as a new letter), an earlier outcome unknown (not resent), or over `--limit`; and the
 * report row of a row the ledger settled.
 */
import { showName } from '../escape.js';
import { reportRow } from '../report/rows.js';
import type { Ledger, LedgerRecord } from '../ledger/ledger.js';
import { currentResolution } from '../ledger/records.js';
import type { ReportRow } from '../types.js';
import type { Plan, PlannedRow } from '../plan/validate.js';
import { changedRows, type SentLetter } from './changed.js';
import { reshapedRows, type EarlierLetter } from './reshaped.js';

/** What to do with a ready row, decided from the ledger before the pass. */
export enum Decision {
  Send = 1,
  AlreadySent = 2,
  Unknown = 3,
  OverLimit = 4,
  /** Already sent, and the letter would now differ: skipped, with a note. */
  Changed = 5,
  /** Already sent, the letter now differs, and --resend-changed: sent again as a new letter. */
  Resend = 6,
}

/** The decisions of a run: one per row number (0 for rows that are not ready), and how many of each. */
export interface Decisions {
  decisions: Uint8Array;
  counts: Record<Decision, number>;
  /** Rows whose letter now differs from the one sent (Changed, Resend, or over the limit): the content sha256 the ledger recorded. */
  changed: Map<number, string>;
  /**
   * Rows whose letter key was never sent, but a letter of the same template to the same three keys
   * was, before the template's merge fields were edited (so every row's key is new): that earlier
   * letter, and what the row is to it (reshaped.ts). Those that differ are also in `changed`.
   */
  earlier: Map<number, EarlierLetter>;
  /** Rows already sent (AlreadySent) with a note for their `error` (send --approved: the approved letter is older than the one sent). */
  notes?: Map<number, string>;
}

/** Appended to a changed row's `already sent` error. */
export const NOW_DIFFERS = 'the letter now differs from the one sent';

/** Said of an approved letter older than the one sent since (send --approved): it is skipped, never sent again. */
export const OLDER_THAN_SENT = 'the approved letter is older than the one sent (that letter was made after this preview): it is never sent in its place';

const UNKNOWN_BEFORE =
  'earlier outcome unknown (ledger): check the patient chart in Canvas, then record what you found with canvas-letters ledger resolve (--sent or --not-sent), or send every unknown row again with --resend-unknown';

/** Ledger keys looked up at once. */
const LOOKUP_CHUNK = 5_000;

/** What the ledger says of a ready row: already sent, unknown (not resent), or undefined to send it. */
export function ledgerDecision(rec: LedgerRecord | undefined, resendUnknown: boolean): Decision.AlreadySent | Decision.Unknown | undefined {
  if (!rec || rec.status === 'failed') return undefined;
  if (rec.status === 'sent') return Decision.AlreadySent;
  return resendUnknown ? undefined : Decision.Unknown;
}

/**
 * The report row for a ready row the ledger already knows, or undefined when it is to be sent.
 * `changedFrom`: the row's letter was found to differ from the one recorded with this sha256 (the
 * note is added while the record still holds it). `earlier`: the row's key was never sent, but
 * this letter of its template to the same keys was, before the template's fields changed. `note`:
 * added to an already-sent row's error (Decisions.notes).
 */
export function ledgerVerdict(p: PlannedRow, rec: LedgerRecord | undefined, resendUnknown: boolean, changedFrom?: string, earlier?: EarlierLetter, note?: string): ReportRow | undefined {
  const decision = ledgerDecision(rec, resendUnknown);
  if (decision === undefined && earlier !== undefined) {
    const was = earlier.record;
    const fields = "its template's merge fields changed since, so its letter key is new";
    if (was.status !== 'sent') {
      return reportRow(p, 'skipped', {
        error: `a letter of its template to these keys has an unknown outcome (ledger: ${showName(was.sourceFile)} row ${was.row}, ${was.updatedAt}; ${fields}): check the chart and record it with canvas-letters ledger resolve, or send this row with --resend-changed`,
      });
    }
    const why = { same: 'the letter is the same', differs: NOW_DIFFERS, older: OLDER_THAN_SENT }[earlier.kind];
    return reportRow(p, 'skipped', {
      error: `already sent (ledger: ${alreadySentBy(was)}); ${why} (${fields})`,
      ...(was.letterId ? { letterId: was.letterId } : {}),
    });
  }
  if (decision === Decision.AlreadySent) {
    const differs = changedFrom !== undefined && rec!.contentSha256 === changedFrom;
    const why = differs ? NOW_DIFFERS : note;
    return reportRow(p, 'skipped', {
      error: `already sent (ledger: ${alreadySentBy(rec!)})${why !== undefined ? `; ${why}` : ''}`,
      ...(rec!.letterId ? { letterId: rec!.letterId } : {}),
    });
  }
  return decision === Decision.Unknown ? reportRow(p, 'unknown', { error: UNKNOWN_BEFORE }) : undefined;
}

/** Who recorded a sent key: a run (its file, row and time), or a person who found the letter on the chart. */
function alreadySentBy(rec: LedgerRecord): string {
  const resolution = currentResolution(rec);
  if (resolution?.outcome === 'sent') return `resolved sent by ${showName(resolution.by)} ${resolution.at.slice(0, 10)}`;
  return `${rec.sourceFile} row ${rec.row}, ${rec.updatedAt}`;
}

/**
 * Decide each ready row from the ledger (looked up in chunks), before anything is sent: what
 * the confirmation shows. A row recorded sent with its letter's sha256 is rendered again at its
 * recorded date (changed.ts): Changed when it differs, or Resend with `resendChanged`. Rows to
 * send (Send, Resend) beyond `limit` are OverLimit.
 */
export async function decideRows(
  plan: Plan,
  ledger: Pick<Ledger, 'lookup' | 'fieldSignatures' | 'sentFor'>,
  resendUnknown: boolean,
  limit: number | undefined,
  resendChanged = false,
): Promise<Decisions> {
  const rows = [...plan.readyRows()].map((row) => ({ row, letterKey: plan.letterKeyOf(row)! }));
  return decideLetters(rows, plan.rows, ledger, {
    resendUnknown,
    limit,
    resendChanged,
    differing: (sent) => changedRows(plan, sent),
    reshaped: (toSend) => reshapedRows(plan, ledger, toSend),
  });
}

/** How decideLetters decides. */
export interface DecideOptions {
  resendUnknown: boolean;
  limit: number | undefined;
  resendChanged: boolean;
  /** Of the rows recorded sent with a sha256 and render date, those whose letter would now differ. */
  differing: (sent: ReadonlyMap<number, SentLetter>) => Promise<Set<number>>;
  /** Of the rows to send (their key never sent), those matched to a letter sent before under other fields of their template (reshaped.ts). */
  reshaped?: (toSend: readonly number[]) => Promise<Map<number, EarlierLetter>>;
}

/**
 * The ledger's decision for each keyed row (of `rows` rows in all): the rules of decideRows, for
 * a CSV's ready rows or an approved batch's letters; `differing` says which letters sent before
 * would now differ.
 */
export async function decideLetters(letters: readonly KeyedRow[], rows: number, ledger: Pick<Ledger, 'lookup'>, o: DecideOptions): Promise<Decisions> {
  const decisions = new Uint8Array(rows + 1);
  const sent = new Map<number, SentLetter>();
  const fresh: number[] = []; // to send, their own key never claimed or failed: matched against letters of other fields
  for (const [{ row }, rec] of withRecords(letters, ledger)) {
    const d = ledgerDecision(rec, o.resendUnknown);
    decisions[row] = d ?? 0;
    if (d === undefined && (rec === undefined || rec.status === 'failed')) fresh.push(row);
    if (d === Decision.AlreadySent && rec?.contentSha256 !== undefined && rec.renderDate !== undefined) {
      sent.set(row, { contentSha256: rec.contentSha256, renderDate: rec.renderDate, sentAt: rec.updatedAt });
    }
  }
  const differ = sent.size > 0 ? await o.differing(sent) : new Set<number>();
  const changed = new Map([...differ].map((row) => [row, sent.get(row)!.contentSha256]));
  const earlier = o.reshaped && fresh.length > 0 ? await o.reshaped(fresh) : new Map<number, EarlierLetter>();
  for (const [row, e] of earlier) {
    if (e.kind === 'differs') changed.set(row, e.record.contentSha256 ?? '');
    decisions[row] = Decision.AlreadySent;
  }
  const tally = new Tally(o.limit);
  for (const { row } of letters) {
    let d = decisions[row] as Decision | 0;
    if (d === Decision.AlreadySent && changed.has(row)) d = o.resendChanged ? Decision.Resend : Decision.Changed;
    decisions[row] = tally.add(d === 0 ? Decision.Send : d);
  }
  return { decisions, counts: tally.counts, changed, earlier };
}

/** A row and its letter key. */
export interface KeyedRow { row: number; letterKey: string }

/** Each row with its ledger record (undefined when the ledger has none), looked up LOOKUP_CHUNK keys at a time. */
function* withRecords<T extends KeyedRow>(rows: readonly T[], ledger: Pick<Ledger, 'lookup'>): Generator<[T, LedgerRecord | undefined]> {
  for (let i = 0; i < rows.length; i += LOOKUP_CHUNK) {
    const chunk = rows.slice(i, i + LOOKUP_CHUNK);
    const known = ledger.lookup(chunk.map((r) => r.letterKey));
    for (const r of chunk) yield [r, known.get(r.letterKey)];
  }
}

/** Counts the decisions; a row to send (Send, Resend) beyond the limit becomes OverLimit. */
class Tally {
  readonly counts: Record<Decision, number> = { [Decision.Send]: 0, [Decision.AlreadySent]: 0, [Decision.Unknown]: 0, [Decision.OverLimit]: 0, [Decision.Changed]: 0, [Decision.Resend]: 0 };
  constructor(private readonly limit: number | undefined) {}

  add(d: Decision): Decision {
    const sending = d === Decision.Send || d === Decision.Resend;
    const decided = sending && this.limit !== undefined && this.counts[Decision.Send] + this.counts[Decision.Resend] >= this.limit ? Decision.OverLimit : d;
    this.counts[decided]++;
    return decided;
  }
}
