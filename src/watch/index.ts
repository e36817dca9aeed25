/**
 * `watch <inbox>`: take complete CSV files from a folder, one at a time, oldest first, and
 * run each like `send --yes`. A taken file moves to `processing/`, then to `done/` (every row
 * sent or skipped) or `failed/`, with its report folder `<name>.report/` beside it and, for a
 * file that could not be used, `<name>.errors.txt`. Moves are renames inside the inbox, and
 * nothing is overwritten. A file left in `processing/` by a crash is resumed first: the
 * ledger makes that safe. One watcher per inbox (see lock.ts).
 */
import { existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { CanvasLettersError, UsageError, type ExitCode } from '../errors.js';
import { mkdirPrivate, writePrivateFile } from '../fsutil.js';
import type { ReportSummary } from '../report.js';
import { send, type SendOptions } from '../send.js';
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
  | { type: 'finished'; name: string; destination: Destination; movedTo: string; summary?: ReportSummary; errors?: string[] }
  | { type: 'interrupted'; name: string };

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
  if (!existsSync(inbox) || !statSync(inbox).isDirectory()) {
    throw new UsageError(`${inbox}: no such folder`, 'create the inbox folder, or give the right path');
  }
  const dirs = { processing: join(inbox, 'processing'), done: join(inbox, 'done'), failed: join(inbox, 'failed'), state: join(inbox, STATE_DIR) };
  for (const d of Object.values(dirs)) mkdirPrivate(d);
  const lock = InboxLock.acquire(inbox, dirs.state);
  const status = new StatusFile(join(dirs.state, 'status.json'), lock.owner.startedAt);
  const files: FileOutcome[] = [];
  const scanner = new InboxScanner(inbox, opts.settleMs ?? 5_000);

  const processFile = async (name: string, resumed: boolean): Promise<boolean> => {
    const working = join(dirs.processing, name);
    if (!resumed) {
      try {
        renameSync(join(inbox, name), working);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true; // taken away meanwhile
        throw err;
      }
    }
    scanner.forget(name);
    opts.onEvent?.({ type: 'taken', name, resumed });
    const reportDir = join(dirs.processing, `${name}.report`);
    let summary: ReportSummary | undefined;
    let errors: string[] | undefined;
    try {
      const result = await send({ ...opts, csv: working, out: reportDir, signal: opts.signal });
      summary = result.summary;
      if (summary.refused && result.plan.invalid > 0) errors = result.plan.problems;
      if (result.credentialsRefused) {
        renameSync(working, join(inbox, name)); // put back: nothing was sent; fix the credentials and restart
        throw new CredentialsRefusedError(`${name}: ${summary.stopReason ?? 'credentials refused'}`, 'the file was put back in the inbox; fix the credentials (or CANVAS_BASE_URL, or the trusted certificates, as the message says) and start the watcher again');
      }
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
    const movedTo = moveOut(working, dirs[destination], errors);
    const exitCode: ExitCode = summary?.exitCode === 0 ? 0 : summary?.exitCode === 2 || errors ? 2 : 1;
    files.push({ name, destination, movedTo, exitCode });
    status.file(name, destination, summary);
    opts.onEvent?.({ type: 'finished', name, destination, movedTo, ...(summary ? { summary } : {}), ...(errors ? { errors } : {}) });
    return true;
  };

  try {
    // A file left in processing/ by a crash goes first.
    const leftOver = readdirSync(dirs.processing).filter(isCsvName).sort();
    for (const name of leftOver) if (opts.signal?.aborted || !(await processFile(name, true))) break;
    while (!opts.signal?.aborted) {
      const ready = scanner.scan();
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

/** Move a finished file, its report folder and its errors out of processing/, never overwriting. */
function moveOut(working: string, destDir: string, errors: string[] | undefined): string {
  const name = basename(working);
  let target = name;
  const taken = (n: string) => existsSync(join(destDir, n)) || existsSync(join(destDir, `${n}.report`)) || existsSync(join(destDir, `${n}.errors.txt`));
  if (taken(target)) {
    const ext = extname(name);
    const stem = name.slice(0, name.length - ext.length);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    target = `${stem}-${stamp}${ext}`;
    for (let i = 2; taken(target); i++) target = `${stem}-${stamp}-${i}${ext}`;
  }
  if (existsSync(`${working}.report`)) renameSync(`${working}.report`, join(destDir, `${target}.report`));
  if (errors) writePrivateFile(join(destDir, `${target}.errors.txt`), errors.join('\n') + '\n');
  renameSync(working, join(destDir, target));
  return join(destDir, target);
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
    writePrivateFile(`${this.path}.tmp`, JSON.stringify(this.data, null, 2) + '\n');
    renameSync(`${this.path}.tmp`, this.path);
  }
}
