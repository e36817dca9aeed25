/**
 * Recording outcomes when writing fails. The first failed write (report or ledger) stops the
 * run; ledger writes are then retried with backoff until a total budget runs out (counted from
 * that first failure), so a ledger full or locked for a moment still gets the outcomes of the
 * letters in flight. What could not be recorded is kept, row by row, for the person to settle.
 */

/** An outcome the ledger could not record: the row, its letter key, and what happened to the letter. */
export interface UnrecordedRow {
  row: number;
  letterKey: string;
  /** e.g. "sent, Canvas letter id 123", "unknown", "failed", "not sent". */
  outcome: string;
}

export interface RecordRetry {
  /** Total time spent retrying ledger writes after the first failure (default 5 s). */
  budgetMs?: number;
  /** First backoff (default 50 ms), doubled up to 1 s. */
  baseDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const RECORD_BUDGET_MS = 5_000;

/** The message of a ledger failure, prefixed with "ledger: " unless it already names the ledger. */
export function ledgerMessage(err: unknown): string {
  const msg = messageOf(err);
  return /^ledger\b/i.test(msg) ? msg : `ledger: ${msg}`;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Recorder {
  readonly unrecorded: UnrecordedRow[] = [];
  /** The first write failure, when there was one. */
  failure?: string;
  private deadline?: number;
  private readonly budgetMs: number;
  private readonly baseDelayMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly firstTries = new Set<Promise<void>>();

  constructor(
    /** Called once, at the first write failure, with its message: stops the run. */
    private readonly onFailure: (message: string) => void,
    opts: RecordRetry = {},
  ) {
    this.budgetMs = opts.budgetMs ?? RECORD_BUDGET_MS;
    this.baseDelayMs = opts.baseDelayMs ?? 50;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Settles once every write whose first try had begun by now has had that try: a letter claimed
   * after an outcome was queued leaves only once that outcome is known to be recorded (or the run
   * has stopped). With the real ledger both share one group commit, so this costs no wait.
   */
  async firstTriesSettled(): Promise<void> {
    if (this.firstTries.size > 0) await Promise.allSettled([...this.firstTries]);
  }

  private track(write: Promise<void>): Promise<void> {
    this.firstTries.add(write);
    const done = () => this.firstTries.delete(write);
    write.then(done, done);
    return write;
  }

  /** A write failed: the first one stops the run. */
  fail(message: string): void {
    if (this.failure !== undefined) return;
    this.failure = message;
    this.deadline = this.now() + this.budgetMs;
    this.onFailure(message);
  }

  /**
   * Run a ledger write, retrying with backoff while the budget lasts (once the budget is spent,
   * each write still gets one try). Resolves true when it was recorded; false after noting
   * `what` as unrecorded. Never rejects.
   */
  async ledger(write: () => Promise<void>, what: UnrecordedRow): Promise<boolean> {
    let delay = this.baseDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await (attempt === 1 ? this.track(write()) : write());
        return true;
      } catch (err) {
        this.fail(ledgerMessage(err));
        const left = this.deadline! - this.now();
        if (left <= 0) {
          this.unrecorded.push(what);
          return false;
        }
        await this.sleep(Math.min(delay, left));
        delay = Math.min(delay * 2, 1_000);
      }
    }
  }
}
