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
import { sha256Hex } from '../approve/batch.js';
import { CanvasLettersError } from '../errors.js';
import { showName } from '../escape.js';
import { readRegularFile } from '../fsutil.js';
import type { Ledger } from '../ledger/ledger.js';
import type { PlannedRow } from '../plan/validate.js';
import { decideLetters, type Decisions } from './decide.js';
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

/** The ledger's decision for each approved letter (decide.ts's rules): send, already sent, unknown, over the limit. */
export function decideApproved(a: ApprovedBatch, ledger: Pick<Ledger, 'lookup'>, resendUnknown: boolean, limit: number | undefined): Decisions {
  return decideLetters(a.letters, a.rows, ledger, resendUnknown, limit);
}
