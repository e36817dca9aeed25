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
import { sha256Hex, type Batch } from '../approve/batch.js';
import { CanvasLettersError } from '../errors.js';
import { showName } from '../escape.js';
import { readRegularFile } from '../fsutil.js';
import type { Ledger } from '../ledger/ledger.js';
import { decideLetters, type DecideOptions, type Decisions } from './decide.js';
import { changedRows, type SentLetter } from './changed.js';
import { parseMapOptions } from '../input/mapping.js';
import { validateBatch, type Plan, type PlannedRow } from '../plan/validate.js';
import { isDateOrder } from '../templates/index.js';
import type { PassSource, SendRow } from './pass.js';

/** A letter file changed after the run's checks: the run stops before sending it. */
export class LetterFileChangedError extends CanvasLettersError {
  constructor(dir: string, row: number) {
    super(`${showName(dir)}: row ${row}: the letter file changed during the run (it differs from batch.json)`, 'preview again into a new folder, approve it, then send that');
  }
}

/** The approved batch as the pass's rows, in row order. */
export function approvedSource(a: ApprovedBatch): PassSource {
  return { rows: a.rows, file: a.batch.csv.path, renderDate: a.batch.renderDate, passRows: () => approvedRows(a) };
}

async function* approvedRows(a: ApprovedBatch): AsyncGenerator<SendRow> {
  const letters = new Map(a.letters.map((l) => [l.row, l]));
  const others = new Map(a.notApproved.map((r) => [r.row, r]));
  for (let row = 1; row <= a.rows; row++) {
    const letter = letters.get(row);
    if (letter) {
      yield { planned: planned(letter), letter: { templateName: letter.template, content: readLetter(a.dir, letter) } };
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
 * the limit. A letter sent before differs when its recorded sha256 is not the approved file's.
 */
export function decideApproved(a: ApprovedBatch, ledger: Pick<Ledger, 'lookup'>, o: Omit<DecideOptions, 'differing'>): Promise<Decisions> {
  return decideLetters(a.letters, a.rows, ledger, { ...o, differing: (sent) => approvedChanges(a, sent) });
}

/**
 * The approved letters that differ from the ones sent. Sent at the batch's render date, the sha256
 * alone tells. Sent on another day, a different sha256 may be `{{today}}` alone: the batch is
 * rendered again from its CSV and templates, when both are still the ones sealed, at the sent
 * letter's date (changed.ts), and a letter differs only if that render does. When it cannot be
 * rendered again (the CSV or a template changed since, fields were looked up in Canvas, or a
 * render does not give the approved bytes), the bytes are what is compared.
 */
async function approvedChanges(a: ApprovedBatch, sent: ReadonlyMap<number, SentLetter>): Promise<Set<number>> {
  const sha = new Map(a.letters.map((l) => [l.row, l.sha256]));
  const differ = new Set<number>();
  const otherDay = new Map<number, SentLetter>();
  for (const [row, was] of sent) {
    if (was.contentSha256 === sha.get(row)) continue;
    if (was.renderDate === a.batch.renderDate) differ.add(row);
    else otherDay.set(row, was);
  }
  if (otherDay.size === 0) return differ;
  const plan = await replan(a.batch);
  const approvedBytes = new Map([...otherDay.keys()].map((row) => [row, { contentSha256: sha.get(row)!, renderDate: a.batch.renderDate }]));
  const unlike = plan ? new Set([...(await changedRows(plan, approvedBytes)), ...(await changedRows(plan, otherDay))]) : new Set(otherDay.keys());
  for (const row of unlike) differ.add(row);
  return differ;
}

/** The batch's CSV validated again as the preview did, or undefined when its CSV or templates are no longer the sealed ones. */
async function replan(batch: Batch): Promise<Plan | undefined> {
  const o = batch.options;
  if (o.lookup) return undefined;
  let plan: Plan;
  try {
    plan = await validateBatch({
      csv: batch.csv.path,
      templatesDir: batch.templatesDir,
      renderDate: batch.renderDate,
      map: parseMapOptions(Object.entries(o.map ?? {}).map(([field, column]) => `${field}=${column}`)),
      ...(o.template !== undefined && { template: o.template }),
      ...(o.provider !== undefined && { provider: o.provider }),
      ...(o.location !== undefined && { location: o.location }),
      ...(isDateOrder(o.dateInput) && { dateInput: o.dateInput }),
    });
  } catch {
    return undefined;
  }
  const sealed = (t: Batch['templates'][number]) => {
    try {
      return JSON.stringify(plan.templates.sources(t.name)) === JSON.stringify(t.sources);
    } catch {
      return false;
    }
  };
  return plan.csvSha256 === batch.csv.sha256 && batch.templates.every(sealed) ? plan : undefined;
}
