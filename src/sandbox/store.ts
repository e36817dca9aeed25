/**
 * `--store <dir>`: keeps sandbox letters across restarts. One JSON file per letter,
 * `<id>.json` (the ReceivedLetter as stored in memory), written 0600 through a temporary
 * file and a rename, in a folder that is 0700. Letters hold patient data: an existing
 * folder that other users can open is refused rather than silently used or changed.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { showName } from '../escape.js';
import { APPROVAL_ID } from '../canvas/letters.js';
import { checkPath, mkdirPrivate, removeFile, writePrivateFile } from '../fsutil.js';
import type { ReceivedLetter } from './types.js';

const LETTER_FILE = /^([0-9a-f]{32})\.json$/;
/** Letter files, and the temporary files they are written through (writePrivateFile's, and older `<id>.json.tmp`). */
const OWN_FILE = /^(?:[0-9a-f]{32}\.json(\.tmp)?|\.[0-9a-f]{32}\.json\.[0-9a-f]+\.tmp)$/;

export interface LetterStore {
  /** Absolute path of the folder. */
  readonly dir: string;
  /** Letters found at open, sorted by receivedAt (oldest first). */
  readonly loaded: ReceivedLetter[];
  /** Files that were skipped at open, each with the reason (names only, never content). */
  readonly skipped: string[];
  save(letter: ReceivedLetter): void;
  /** Remove every letter file (and leftover temporary file) from the folder. */
  clear(): void;
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

/** Parse one stored file; the file name must match the id inside. `seq`: its place in arrival order, when the file has one. */
function parseLetter(text: string, id: string): { letter: ReceivedLetter; seq: number } | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const { receivedAt, patientKey, providerKey, practiceLocationKey, content, approvalId } = r;
  if (r.id !== id) return 'id does not match the file name';
  if (!isString(receivedAt) || Number.isNaN(Date.parse(receivedAt))) return 'receivedAt is not a date';
  if (!isString(patientKey) || !isString(providerKey) || !isString(practiceLocationKey) || !isString(content)) {
    return 'patientKey, providerKey, practiceLocationKey and content must be strings';
  }
  const letter: ReceivedLetter = { id, receivedAt, patientKey, providerKey, practiceLocationKey, content, size: Buffer.byteLength(content) };
  if (isString(approvalId) && APPROVAL_ID.test(approvalId)) letter.approvalId = approvalId;
  return { letter, seq: Number.isSafeInteger(r.seq) && (r.seq as number) >= 0 ? (r.seq as number) : 0 };
}

/** Open (creating 0700 if missing) a store folder and load its letters. Throws on an unusable folder. */
export function openStore(folder: string): LetterStore {
  const dir = resolve(folder);
  const st = checkPath(dir, 'folder'); // a symlink, or not a folder, is refused
  const mode = st ? st.mode & 0o777 : undefined;
  if (mode === undefined) mkdirPrivate(dir);
  else if ((mode & 0o077) !== 0) {
    throw new Error(
      `sandbox store ${showName(dir)} can be opened by other users (mode ${mode.toString(8).padStart(4, '0')}); letters hold patient data: run chmod 700 on it or choose a new folder`,
    );
  }

  const loaded: { letter: ReceivedLetter; seq: number; name: string }[] = [];
  const skipped: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const m = LETTER_FILE.exec(name);
    if (!m) continue;
    let text: string;
    try {
      checkPath(join(dir, name), 'file');
      text = readFileSync(join(dir, name), 'utf8');
    } catch (err) {
      skipped.push(`${name}: ${(err as NodeJS.ErrnoException).code ?? 'not a regular file'}`);
      continue;
    }
    const parsed = parseLetter(text, m[1] ?? '');
    if (typeof parsed === 'string') skipped.push(`${name}: ${parsed}`);
    else loaded.push({ ...parsed, name });
  }
  // Arrival order: letters received in the same millisecond keep theirs by their sequence number.
  loaded.sort((a, b) => Date.parse(a.letter.receivedAt) - Date.parse(b.letter.receivedAt) || a.seq - b.seq || (a.name < b.name ? -1 : 1));
  let seq = loaded.reduce((max, l) => Math.max(max, l.seq), 0);

  return {
    dir,
    loaded: loaded.map((l) => l.letter),
    skipped,
    save(letter) {
      const file = join(dir, `${letter.id}.json`);
      const { id, receivedAt, patientKey, providerKey, practiceLocationKey, content, size, approvalId } = letter;
      const record = { id, receivedAt, seq: ++seq, patientKey, providerKey, practiceLocationKey, size, approvalId, content };
      writePrivateFile(file, JSON.stringify(record, null, 2) + '\n', { replace: true });
    },
    clear() {
      for (const name of readdirSync(dir)) if (OWN_FILE.test(name)) removeFile(join(dir, name));
    },
  };
}
