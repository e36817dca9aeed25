/**
 * `watch <inbox>`: take complete CSV files from a folder, one at a time, oldest first, and
 * run each like `send --yes`. A taken file moves to `processing/`, then to `done/` (every row
 * sent or skipped) or `failed/`, with its report folder `<name>.report/` beside it and, for a
 * file that could not be used, `<name>.errors.txt`. Moves are renames inside the inbox, and
 * nothing is overwritten. A file left in `processing/` by a crash is resumed first: the
 * ledger makes that safe. One watcher per inbox (see lock.ts).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { CanvasLettersError, UsageError, type ExitCode } from '../errors.js';
import { showName } from '../escape.js';
import { checkPath, describeKind, lstatOrUndefined, mkdirPrivate, moveNoReplace, writePrivateFile } from '../fsutil.js';
import { REPORT_CSV, type ReportSummary } from '../report/writer.js';
import { send, type SendOptions, type SendResult } from '../send/index.js';
import { abortableSleep } from '../canvas/retry.js';
import { InboxScanner, isCsvName } from './inbox.js';
import { InboxLock } from './lock.js';

export const STATE_DIR = '.canvas-letters';
export type Destination = 'done' | 'failed';

export interface WatchOptions extends Omit<SendOptions, 'csv' | 'out' | 'confirm' | 'signal' | 'onValidated' | 'onRow'> {
  inbox: string;
  /** Poll every this many ms (default 10 s). */
  intervalMs?: number;
  /** A file must be quiet this long to be taken, unless renamed into place (default 5 s). */
  settleMs?: number;
  /** Process what is ready and return. */
  once?: boolean;
  /** Stop: finish the requests in flight, record them, and return. */
  signal?: AbortSignal;
  onEvent?: (event: WatchEvent) => void;
}

export type WatchEvent =
  | { type: 'taken'; name: string; resumed: boolean }
  | {
      type: 'finished';
      name: string;
      destination: Destination;
      /** Where the file is now. Paths in `errors` and `summary` name it there, not in processing/. */
      movedTo: string;
      /** Its report.csv, when one was written (a file refused before validation has none). */
      report?: string;
      /** Its `<name>.errors.txt`, when the file was refused. */
      errorsFile?: string;
      summary?: ReportSummary;
      errors?: string[];
    }
  | { type: 'interrupted'; name: string }
  /** A `*.csv` entry that is a symlink or not a regular file: never taken, left where it is (the inbox or processing/). */
  | { type: 'refused'; name: string; where: 'inbox' | 'processing'; why: string };

export interface FileOutcome {
  name: string;
  destination: Destination | 'processing';
  movedTo?: string;
  exitCode: ExitCode;
}

export interface WatchResult {
  files: FileOutcome[];
  exitCode: ExitCode;
}

/** Credentials refused while processing a file: the file is put back and the watcher stops. */
export class CredentialsRefusedError extends CanvasLettersError {}

export async function watch(opts: WatchOptions): Promise<WatchResult> {
  const { inbox } = opts;
  if (!isFolder(inbox)) {
    throw new UsageError(`${showName(inbox)}: no such folder`, 'create the inbox folder, or give the right path');
  }
  const dirs = { processing: join(inbox, 'processing'), done: join(inbox, 'done'), failed: join(inbox, 'failed'), state: join(inbox, STATE_DIR) };
  checkInbox(dirs);
  for (const d of Object.values(dirs)) mkdirPrivate(d);
  const lock = InboxLock.acquire(inbox, dirs.state);
  const status = new StatusFile(join(dirs.state, STATUS_FILE), lock.owner.startedAt);
  const files: FileOutcome[] = [];
  const scanner = new InboxScanner(inbox, opts.settleMs ?? 5_000);
  const refused = (name: string, where: 'inbox' | 'processing', why: string) => opts.onEvent?.({ type: 'refused', name, where, why });

  const processFile = async (name: string, resumed: boolean): Promise<boolean> => {
    const working = join(dirs.processing, name);
    if (!resumed) {
      try {
        moveNoReplace(join(inbox, name), working);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true; // taken away meanwhile
        throw err;
      }
    }
    scanner.forget(name);
    const st = lstatOrUndefined(working);
    if (!st?.isFile()) {
      // Swapped for a symlink (or a FIFO) between the scan and the move: put it back, never read it.
      if (st && !resumed) moveNoReplace(working, join(inbox, name));
      if (st) refused(name, resumed ? 'processing' : 'inbox', describeKind(st));
      return true;
    }
    opts.onEvent?.({ type: 'taken', name, resumed });
    const reportDir = join(dirs.processing, `${name}.report`);
    if (resumed) keepEarlierReport(reportDir);
    let summary: ReportSummary | undefined;
    let errors: string[] | undefined;
    try {
      const result = await send({ ...opts, csv: working, out: reportDir, signal: opts.signal });
      summary = result.summary;
      errors = refusalErrors(result, name, working, inbox);
    } catch (err) {
      if (!(err instanceof CanvasLettersError) || err instanceof CredentialsRefusedError) throw err;
      errors = [err.message]; // unreadable CSV or template, bad mapping: the file cannot be used
    }
    if (summary?.interrupted) {
      files.push({ name, destination: 'processing', exitCode: 130 });
      opts.onEvent?.({ type: 'interrupted', name });
      status.file(name, 'processing', summary);
      return false; // stays in processing/: resumed at the next start
    }
    const destination: Destination = summary?.exitCode === 0 ? 'done' : 'failed';
    const moved = moveOut(working, dirs[destination], errors);
    const { movedTo } = moved;
    const exitCode: ExitCode = summary?.exitCode === 0 ? 0 : summary?.exitCode === 2 || errors ? 2 : 1;
    files.push({ name, destination, movedTo, exitCode });
    status.file(name, destination, summary);
    opts.onEvent?.({ type: 'finished', name, destination, ...moved, ...(summary ? { summary: relocateSummary(summary, working, movedTo) } : {}) });
    return true;
  };

  try {
    // A file left in processing/ by a crash goes first.
    const leftOver = readdirSync(dirs.processing).filter(isCsvName).sort();
    for (const name of leftOver) if (opts.signal?.aborted || !(await processFile(name, true))) break;
    while (!opts.signal?.aborted) {
      const ready = scanner.scan();
      for (const r of scanner.takeRefused()) refused(r.name, 'inbox', r.why);
      status.poll();
      for (const c of ready) if (opts.signal?.aborted || !(await processFile(c.name, false))) break;
      if (opts.once) break;
      await abortableSleep(opts.intervalMs ?? 10_000, opts.signal);
    }
  } finally {
    status.write();
    lock.release();
  }
  const interrupted = files.some((f) => f.destination === 'processing');
  const exitCode: ExitCode = interrupted ? 130 : files.some((f) => f.destination === 'failed') ? 1 : 0;
  return { files, exitCode };
}

export const STATUS_FILE = 'status.json';

/**
 * What a refused run means for its file: invalid rows give the problems for `<name>.errors.txt`;
 * refused credentials put the file back in the inbox (nothing was sent) and stop the watcher
 * (CredentialsRefusedError). Undefined otherwise.
 */
function refusalErrors(result: SendResult, name: string, working: string, inbox: string): string[] | undefined {
  switch (result.refusal) {
    case 'invalid-rows':
      return result.plan.problems;
    case 'credentials': {
      moveNoReplace(working, join(inbox, name)); // put back: fix the credentials and restart
      throw new CredentialsRefusedError(`${showName(name)}: ${result.summary.stopReason ?? 'credentials refused'}`, 'the file was put back in the inbox; fix the credentials (or CANVAS_BASE_URL, or the trusted certificates, as the message says) and start the watcher again');
    }
    case 'not-confirmed': // a watcher never asks
    case undefined:
      return undefined;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** processing/, done/, failed/ and the state folder (and its files) must be real folders and files, before anything moves. */
function checkInbox(dirs: Record<'processing' | 'done' | 'failed' | 'state', string>): void {
  for (const d of Object.values(dirs)) checkPath(d, 'folder');
  for (const f of [STATUS_FILE, 'watch.lock', 'watch.owner.json']) checkPath(join(dirs.state, f), 'file');
}

/** A report folder left by an interrupted run is the record of what it sent: keep it, as `<name>.report.earlier-N`. */
function keepEarlierReport(reportDir: string): void {
  if (!lstatOrUndefined(reportDir)) return;
  let n = 1;
  while (lstatOrUndefined(`${reportDir}.earlier-${n}`)) n++;
  moveNoReplace(reportDir, `${reportDir}.earlier-${n}`);
}

const exists = (path: string) => lstatOrUndefined(path) !== undefined;

/** The paths of a summary written in processing/, where the file and its report folder are now. */
function relocateSummary(s: ReportSummary, working: string, movedTo: string): ReportSummary {
  const at = (path: string) => (path === working || path.startsWith(`${working}.`) ? movedTo + path.slice(working.length) : path);
  return { ...s, csv: at(s.csv), out: at(s.out), reportCsv: at(s.reportCsv), reportJson: at(s.reportJson) };
}

interface Moved {
  movedTo: string;
  report?: string;
  errorsFile?: string;
  /** The errors, naming the file where it is now. */
  errors?: string[];
}

/**
 * Move a finished file, its report folders and its errors out of processing/, never overwriting.
 * Error lines that name the file in processing/ (`…/processing/a.csv: row 3 …`, `…/processing/a.csv.report`)
 * name it where it went; the report and errors file are given only when they exist.
 */
function moveOut(working: string, destDir: string, found: string[] | undefined): Moved {
  checkPath(destDir, 'folder'); // still a real folder (not swapped for a symlink meanwhile)
  const name = basename(working);
  const processing = join(working, '..');
  const earlier = new RegExp(`^${escapeRegExp(name)}\\.report\\.earlier-(\\d+)$`);
  const reports = readdirSync(processing).filter((n) => earlier.test(n));
  let target = name;
  const taken = (n: string) => exists(join(destDir, n)) || exists(join(destDir, `${n}.report`)) || exists(join(destDir, `${n}.errors.txt`)) ||
    reports.some((r) => exists(join(destDir, n + r.slice(name.length))));
  if (taken(target)) {
    const ext = extname(name);
    const stem = name.slice(0, name.length - ext.length);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    target = `${stem}-${stamp}${ext}`;
    for (let i = 2; taken(target); i++) target = `${stem}-${stamp}-${i}${ext}`;
  }
  const movedTo = join(destDir, target);
  const errors = found?.map((line) => line.replaceAll(showName(working), showName(movedTo)));
  for (const r of reports) moveNoReplace(join(processing, r), join(destDir, target + r.slice(name.length)));
  if (exists(`${working}.report`)) moveNoReplace(`${working}.report`, `${movedTo}.report`);
  const errorsFile = `${movedTo}.errors.txt`;
  if (errors) writePrivateFile(errorsFile, errors.join('\n') + '\n');
  moveNoReplace(working, movedTo);
  const report = join(`${movedTo}.report`, REPORT_CSV);
  return { movedTo, ...(exists(report) && { report }), ...(errors && { errorsFile, errors }) };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `<inbox>/.canvas-letters/status.json`: when the last poll and the last file ran, for monitoring. */
class StatusFile {
  private readonly data: Record<string, unknown>;
  private readonly totals = { done: 0, failed: 0 };

  constructor(
    private readonly path: string,
    startedAt: string,
  ) {
    this.data = { pid: process.pid, startedAt, lastPollAt: null, polls: 0, lastFile: null, files: this.totals };
  }

  poll(): void {
    this.data.lastPollAt = new Date().toISOString();
    this.data.polls = (this.data.polls as number) + 1;
    this.write();
  }

  file(name: string, destination: Destination | 'processing', summary?: ReportSummary): void {
    if (destination !== 'processing') this.totals[destination]++;
    this.data.lastFile = { name, destination, finishedAt: new Date().toISOString(), counts: summary?.counts ?? null, exitCode: summary?.exitCode ?? 2 };
    this.write();
  }

  write(): void {
    this.data.updatedAt = new Date().toISOString();
    writePrivateFile(this.path, JSON.stringify(this.data, null, 2) + '\n', { replace: true });
  }
}
