/**
 * The rows of `send --approved`: an approved batch (approve/approved.ts, checked before the
 * run) as the send pass's source. Each approved letter is read again from its file and sent
 * as it is, byte for byte, after its sha256 is checked once more (a file changed since the
 * checks stops the run there, like a CSV changed during a plain send); the other rows are
 * reported `not_attempted`, "not approved". The ledger decides the approved rows as it
 * decides a CSV's ready rows.
 */
import { join } from 'node:path';
import type { ApprovedBatch, ApprovedLetter } from '../approve/approved.js';
import { batchTemplates, sha256Hex, type Batch } from '../approve/batch.js';
import { CanvasLettersError } from '../errors.js';
import { showName } from '../escape.js';
import { readRegularFile } from '../fsutil.js';
import type { Ledger, LedgerRecord } from '../ledger/ledger.js';
import { OLDER_THAN_SENT, decideLetters, type DecideOptions, type Decisions } from './decide.js';
import { changedRows, type SentLetter } from './changed.js';
import { earlierCandidates, pick, reshapedTemplates, type EarlierLetter } from './reshaped.js';
import { parseMapOptions } from '../input/mapping.js';
import { validateBatch, type Plan, type PlannedRow } from '../plan/validate.js';
import { isDateOrder, type TemplateSet } from '../templates/index.js';
import { fieldsSignature } from '../plan/letter-key.js';
import type { PassSource, SendRow } from './pass.js';

/** A letter file changed after the run's checks: the run stops before sending it. */
export class LetterFileChangedError extends CanvasLettersError {
  constructor(dir: string, row: number) {
    super(`${showName(dir)}: row ${row}: the letter file changed during the run (it differs from batch.json)`, 'preview again into a new folder, approve it, then send that');
  }
}

/** The approved batch as the pass's rows, in row order; `templates`: the batch's, when still the ones sealed (each letter's claim records its fields signature). */
export function approvedSource(a: ApprovedBatch, templates?: TemplateSet): PassSource {
  return { rows: a.rows, file: a.batch.csv.path, renderDate: a.batch.renderDate, passRows: () => approvedRows(a, templates) };
}

async function* approvedRows(a: ApprovedBatch, templates: TemplateSet | undefined): AsyncGenerator<SendRow> {
  const letters = new Map(a.letters.map((l) => [l.row, l]));
  const others = new Map(a.notApproved.map((r) => [r.row, r]));
  const signatures = fieldSignatures(a.batch, templates);
  for (let row = 1; row <= a.rows; row++) {
    const letter = letters.get(row);
    if (letter) {
      const fieldsSha256 = signatures(letter.template);
      yield { planned: planned(letter), letter: { templateName: letter.template, content: readLetter(a.dir, letter), ...(fieldsSha256 !== undefined && { fieldsSha256 }) } };
      continue;
    }
    const report = others.get(row)!;
    const { patientKey, providerKey, practiceLocationKey, template } = report;
    yield { planned: { row, status: 'skipped', keys: { patientKey, providerKey, practiceLocationKey }, template }, report };
  }
}

function planned(l: ApprovedLetter): PlannedRow {
  return { row: l.row, status: 'ready', keys: l.keys, template: l.template, letterKey: l.letterKey };
}

/** The letter file's text, when its bytes are still the ones batch.json sealed. */
function readLetter(dir: string, l: ApprovedLetter): string {
  let bytes: Buffer | undefined;
  try {
    bytes = readRegularFile(join(dir, l.file));
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined || sha256Hex(bytes) !== l.sha256) throw new LetterFileChangedError(dir, l.row);
  return bytes.toString('utf8');
}

/**
 * The ledger's decision for each approved letter, by decide.ts's rules: send, already sent (the
 * same letter, or one that now differs: skipped, or with `resendChanged` sent again), unknown, over
 * the limit. A letter sent before differs when its recorded sha256 is not the approved file's; a
 * letter whose key was never sent is matched to one sent with its template to the same keys
 * under other fields (reshaped.ts), by the fields signature batch.json sealed. A letter sent after
 * the preview is newer than the approved file: never replaced by it.
 */
export async function decideApproved(a: ApprovedBatch, ledger: Pick<Ledger, 'lookup' | 'fieldSignatures' | 'sentFor'>, o: Omit<DecideOptions, 'differing' | 'reshaped'>, templates?: TemplateSet): Promise<Decisions> {
  const notes = new Map<number, string>();
  let plan: Promise<Plan | undefined> | undefined; // the batch's CSV validated again, once, when a check needs it
  const planOf: PlanOf = () => (plan ??= templates && !a.batch.options.lookup ? replan(a.batch) : Promise.resolve(undefined));
  const decided = await decideLetters(a.letters, a.rows, ledger, {
    ...o,
    differing: (sent) => approvedChanges(a, sent, planOf, notes),
    reshaped: (toSend) => approvedReshaped(a, ledger, toSend, templates, planOf),
  });
  return { ...decided, notes };
}

/**
 * A letter recorded sent after the batch was made (rendered on a later day, or sent after the
 * preview ran; for a batch.json without that time, after the approval): the approved file is older.
 */
function sentAfterPreview(a: ApprovedBatch, was: Pick<SentLetter, 'renderDate' | 'sentAt'>): boolean {
  const made = a.batch.createdAt ?? a.approval.approvedAt;
  return was.renderDate > a.batch.renderDate || (was.sentAt !== undefined && was.sentAt > made);
}

/** The batch's templates, loaded at its render date, when every one used is still the one batch.json sealed. */
export function sealedTemplates(batch: Batch): TemplateSet | undefined {
  const templates = batchTemplates(batch);
  return templates && batch.templates.every((t) => templates.sealed(t.name)) ? templates.set : undefined;
}

/** Each template's fields signature as the preview made its letters: batch.json's, else (older batches) its sealed templates'. */
function fieldSignatures(batch: Batch, templates: TemplateSet | undefined): (name: string) => string | undefined {
  const sealed = new Map(batch.templates.map((t) => [t.name, t.fieldsSha256]));
  return (name) => {
    const sig = sealed.get(name);
    if (sig !== undefined || templates === undefined) return sig;
    try {
      return fieldsSignature(templates.get(name).fields.all);
    } catch {
      return undefined;
    }
  };
}

/**
 * The approved letters to send matched to a letter of their template sent to the same keys under
 * other fields (reshaped.ts, for a batch). A letter is that earlier one when its bytes are the
 * same, or when the CSV's row, rendered with the sealed templates at that letter's date, gives the
 * bytes it recorded (differOnTheirDay); otherwise it differs, or, sent after the preview, is newer.
 */
async function approvedReshaped(
  a: ApprovedBatch,
  ledger: Pick<Ledger, 'fieldSignatures' | 'sentFor'>,
  toSend: readonly number[],
  templates: TemplateSet | undefined,
  planOf: PlanOf,
): Promise<Map<number, EarlierLetter>> {
  const current = reshapedTemplates(ledger, fieldSignatures(a.batch, templates));
  const found = new Map<number, EarlierLetter>();
  if (current.size === 0) return found;
  const wanted = new Set(toSend);
  const sourceFile = a.batch.csv.path;
  const keyed = (l: ApprovedLetter) => ({ row: l.row, template: l.template, ...l.keys, sourceFile });
  const byRow = new Map(a.letters.filter((l) => wanted.has(l.row) && current.has(l.template)).map((l) => [l.row, l]));
  const older = (rec: LedgerRecord) => rec.renderDate !== undefined && sentAfterPreview(a, { renderDate: rec.renderDate, sentAt: rec.updatedAt });
  const toRender = new Map<number, SentLetter>();
  for (const [row, candidates] of earlierCandidates(ledger, [...byRow.values()].map(keyed), current)) {
    const l = byRow.get(row)!;
    const e = pick(keyed(l), candidates, (rec) => rec.contentSha256 === l.sha256, older);
    found.set(row, e);
    if (e.kind === 'differs' && e.record.status === 'sent' && e.record.contentSha256 !== undefined && e.record.renderDate !== undefined) {
      toRender.set(row, { contentSha256: e.record.contentSha256, renderDate: e.record.renderDate });
    }
  }
  if (toRender.size > 0) {
    const differ = await differOnTheirDay(a, toRender, planOf);
    for (const row of toRender.keys()) if (!differ.has(row)) found.set(row, { ...found.get(row)!, kind: 'same' });
  }
  return found;
}

/**
 * The approved letters that differ from the ones sent. A letter sent after the preview was made is
 * newer than the approved file: never replaced by it (noted in `older`). Otherwise, sent at the
 * batch's render date, the sha256 alone tells; sent on another day, a different sha256 may be
 * `{{today}}` alone: see differOnTheirDay.
 */
async function approvedChanges(a: ApprovedBatch, sent: ReadonlyMap<number, SentLetter>, planOf: PlanOf, older: Map<number, string>): Promise<Set<number>> {
  const sha = new Map(a.letters.map((l) => [l.row, l.sha256]));
  const differ = new Set<number>();
  const otherDay = new Map<number, SentLetter>();
  for (const [row, was] of sent) {
    if (was.contentSha256 === sha.get(row)) continue;
    if (sentAfterPreview(a, was)) older.set(row, OLDER_THAN_SENT);
    else if (was.renderDate === a.batch.renderDate) differ.add(row);
    else otherDay.set(row, was);
  }
  if (otherDay.size > 0) for (const row of await differOnTheirDay(a, otherDay, planOf)) differ.add(row);
  return differ;
}

/**
 * Of approved letters sent on another day, those that differ from the one sent by more than the
 * date. The CSV's row with the same letter key (the same merge values, by the key's definition) is
 * rendered with the sealed templates at the batch's date, which must give the approved bytes, and
 * at the sent letter's date, which is compared with what was sent (changed.ts). When that cannot be
 * done (the templates changed since the preview, the preview used `--lookup`, the CSV is gone or no
 * longer has the row), the bytes are what is compared: the letter counts as differing.
 */
async function differOnTheirDay(a: ApprovedBatch, otherDay: ReadonlyMap<number, SentLetter>, planOf: PlanOf): Promise<Set<number>> {
  const plan = await planOf();
  if (!plan) return new Set(otherDay.keys());
  const letters = new Map(a.letters.map((l) => [l.row, l]));
  const batchRowOf = new Map([...otherDay.keys()].map((row) => [letters.get(row)!.letterKey, row]));
  const planRow = new Map<number, number>(); // batch row → the current CSV's row with its key
  for (const r of plan.readyRows()) {
    const row = batchRowOf.get(plan.letterKeyOf(r)!);
    if (row !== undefined && !planRow.has(row)) planRow.set(row, r);
  }
  const atBatch = new Map<number, SentLetter>();
  const atSent = new Map<number, SentLetter>();
  for (const [row, was] of otherDay) {
    const r = planRow.get(row);
    if (r === undefined) continue;
    atBatch.set(r, { contentSha256: letters.get(row)!.sha256, renderDate: a.batch.renderDate });
    atSent.set(r, was);
  }
  const unlike = new Set([...(await changedRows(plan, atBatch)), ...(await changedRows(plan, atSent))]);
  return new Set([...otherDay.keys()].filter((row) => planRow.get(row) === undefined || unlike.has(planRow.get(row)!)));
}

/** The batch's CSV validated again (replan) when its templates are the sealed ones and no fields were looked up, else undefined: made once per run. */
type PlanOf = () => Promise<Plan | undefined>;

/** The batch's CSV as it is now, validated with the preview's options and templates folder at the batch's date (undefined when that fails). */
async function replan(batch: Batch): Promise<Plan | undefined> {
  const o = batch.options;
  try {
    const plan = await validateBatch({
      csv: batch.csv.path,
      templatesDir: batch.templatesDir,
      renderDate: batch.renderDate,
      map: parseMapOptions(Object.entries(o.map ?? {}).map(([field, column]) => `${field}=${column}`)),
      ...(o.template !== undefined && { template: o.template }),
      ...(o.provider !== undefined && { provider: o.provider }),
      ...(o.location !== undefined && { location: o.location }),
      ...(isDateOrder(o.dateInput) && { dateInput: o.dateInput }),
    });
    return plan; // its renders are checked against the approved bytes (differOnTheirDay)
  } catch {
    return undefined;
  }
}
