/**
 * `send`: validate every row, settle what the ledger already knows (sent → skipped,
 * pending/unknown → unknown), confirm, then create each remaining letter in Canvas exactly
 * once through the sender, and write the report as rows finish. `sendApproved` does the same
 * with an approved preview's letter files (send --approved), checked before anything else.
 */
import { resolve } from 'node:path';
import { planRows } from '../plan/replay.js';
import { checkOutDir, prepareOutDir } from '../report/out-dir.js';
import { refusedRow } from '../report/rows.js';
import { CanvasClient, TokenSource, HttpClient, retry, type CanvasConfig } from '../canvas/index.js';
import { showName } from '../escape.js';
import { Ledger, LedgerError } from '../ledger/ledger.js';
import { openDirectory } from '../lookup/index.js';
import { ReportWriter, exitCodeFor, type ReportSummary } from '../report/writer.js';
import type { RecordRetry } from './record.js';
import { Decision, decideRows, type Decisions } from './decide.js';
import { runSender, type SenderOptions, type SenderOutcome, type SendProgress, type UnrecordedRow } from './pass.js';
import { emptyCounts, type ReportRow } from '../types.js';
import { validateBatch, type Plan, type ValidateOptions } from '../plan/validate.js';
import { openApproved } from '../approve/approved.js';
import { approvedSource, decideApproved, sealedTemplates } from './approved.js';
import { planSource, type PassSource } from './pass.js';


export interface SendOptions extends ValidateOptions {
  out: string;
  /** Canvas address and credentials; a function is called only once something is to be sent (or looked up). */
  config: CanvasConfig | (() => CanvasConfig);
  /** The ledger file (the durable record of what was sent). */
  ledgerFile: string;
  /**
   * The origin (scheme://host[:port]) of the Canvas instance, when known before configuration is
   * loaded: the ledger records it on first use and refuses another (LedgerOriginError, exit 2).
   * The configuration's base URL is checked the same way once it is loaded.
   */
  origin?: string;
  /** Called once the ledger is open (`created`: this run made the file). */
  onLedger?: (ledger: { file: string; created: boolean }) => void;
  /** Most requests in flight at once (default 4). */
  concurrency?: number;
  /** Most requests started per second. */
  rate?: number;
  /** Send at most n letters (after skipping already-sent ones). */
  limit?: number;
  /** Give up waiting for one answer after this many seconds (default 30). */
  timeoutSeconds?: number;
  skipInvalid?: boolean;
  resendUnknown?: boolean;
  /** Rows already sent whose letter now differs are sent again, as new letters superseding the earlier ones. */
  resendChanged?: boolean;
  /** Aborting stops starting new letters; requests in flight finish and are recorded. */
  signal?: AbortSignal;
  /** Asked once, after validation and before any credential is used; false → nothing is sent. */
  confirm?: (preflight: Preflight) => boolean | Promise<boolean>;
  onValidated?: (plan: Plan) => void;
  onRow?: (row: ReportRow) => void;
  onProgress?: (progress: SendProgress) => void;
  /** Backoff base for retries in ms (default 500; tests make it small). */
  retryBaseDelayMs?: number;
  /** How ledger writes are retried after a write failure (default: for 5 s in all). */
  recordRetry?: RecordRetry;
  /** `--lookup`: read patients, providers and locations from the Canvas FHIR API, with the run's token. */
  lookupFhir?: boolean;
  /** The config file and job the options came from, for the summary. */
  configUsed?: ReportSummary['config'];
}

/**
 * `send --approved <dir>`: the letters of an approved preview, as they were approved. The
 * batch names its CSV; the options that shape letters (templates, mapping, lookup) do not apply.
 */
export type ApprovedSendOptions = Omit<SendOptions, keyof ValidateOptions | 'skipInvalid' | 'lookupFhir' | 'onValidated'> & {
  /** The approved preview folder. */
  approved: string;
  /** Called once the batch passed every check, with its notes (the CSV changed since the preview). */
  onChecked?: (warnings: readonly string[]) => void;
};

/** What is about to happen, for the confirmation prompt. */
export interface Preflight {
  rows: number;
  toSend: number;
  /** Already sent, the same letter (skipped). */
  alreadySent: number;
  /** Already sent, but the letter now differs: skipped, or sent again (within toSend) when `resendChanged`. */
  changed: number;
  resendChanged: boolean;
  /** Of `changed`, those sent again as new letters (within toSend; --limit may leave some out). */
  resent: number;
  unknown: number;
  invalid: number;
  duplicates: number;
  overLimit: number;
  /** send --approved: rows of the preview that are not approved (excluded, or never previewed): not sent. */
  notApproved: number;
  host: string;
}

/**
 * Why a run sent nothing and exits 2 (report.json's `refused`): the file has invalid rows
 * (without `skipInvalid`), the confirmation said no, or Canvas refused the credentials before
 * any letter was created.
 */
export type Refusal = 'invalid-rows' | 'not-confirmed' | 'credentials';

export interface SendResult {
  plan: Plan;
  preflight?: Preflight;
  summary: ReportSummary;
  /** Set when the run was refused: nothing was sent (the summary's `refused` is true). */
  refusal?: Refusal;
  /** The report or the ledger could not be written: the run stopped (exit 1, or 2 if nothing was sent). */
  writeFailure?: WriteFailure;
}

/** The result of `send --approved`: no CSV was validated. */
export type ApprovedSendResult = Omit<SendResult, 'plan'>;

export interface WriteFailure {
  /** The first failure, with the file it concerns. */
  message: string;
  /** Outcomes the ledger could not record, row by row. */
  unrecorded: UnrecordedRow[];
  /** Rows that could not be written to the report (their outcomes are in the ledger, or in `unrecorded`). */
  unreported: number;
  /** report.json could not be written (the summary returned was not saved). */
  summaryUnwritten: boolean;
}

/** The HTTP client of a run: one keep-alive agent and one token for lookups and letters. */
interface Wire {
  config: CanvasConfig;
  http: HttpClient;
  client: CanvasClient;
  tokens: TokenSource;
}

export async function send(opts: SendOptions): Promise<SendResult> {
  let validated: Plan | undefined;
  const result = await run(opts, async (getWire, concurrency, timeoutMs) => {
    let lookup = opts.lookup;
    if (opts.lookupFhir) {
      lookup = openDirectory({ ...getWire(), concurrency, timeoutMs, retryBaseDelayMs: opts.retryBaseDelayMs, signal: opts.signal });
    }
    const plan = await validateBatch({ ...opts, lookup });
    validated = plan;
    opts.onValidated?.(plan);
    return {
      plan,
      csv: opts.csv,
      source: planSource(plan),
      rows: plan.rows,
      invalid: plan.invalid,
      duplicates: plan.skipped,
      notApproved: 0,
      decide: (ledger, resendUnknown) => decideRows(plan, ledger, resendUnknown, opts.limit, opts.resendChanged === true),
    };
  });
  return { ...result, plan: validated! }; // run() returns only once the plan is made
}

/**
 * `send --approved`: every check of the approved batch (approval.json seals batch.json, each
 * letter file is the one sealed, the report agrees) is made first: a refusal (UsageError, exit
 * 2) comes before any output, ledger or request.
 */
export async function sendApproved(opts: ApprovedSendOptions): Promise<ApprovedSendResult> {
  const batch = openApproved(opts.approved);
  opts.onChecked?.(batch.warnings);
  const { id, approver } = batch.approval;
  const templates = sealedTemplates(batch.batch);
  return run(opts, () =>
    Promise.resolve({
      csv: batch.batch.csv.path,
      source: approvedSource(batch, templates),
      rows: batch.rows,
      invalid: 0,
      duplicates: 0,
      notApproved: batch.notApproved.length,
      decide: (ledger, resendUnknown) => decideApproved(batch, ledger, { resendUnknown, limit: opts.limit, resendChanged: opts.resendChanged === true }, templates),
      approval: { id, approver, dir: resolve(opts.approved) },
      warnings: batch.warnings,
    }),
  );
}

/** What a run sends: the rows of a validated CSV, or of an approved batch. */
interface RunInput {
  plan?: Plan;
  /** The CSV the rows come from (the summary's `csv`). */
  csv: string;
  source: PassSource;
  rows: number;
  invalid: number;
  duplicates: number;
  notApproved: number;
  decide: (ledger: Ledger, resendUnknown: boolean) => Promise<Decisions>;
  approval?: NonNullable<ReportSummary['approval']>;
  /** Notes for the summary (send --approved: the CSV changed since the preview). */
  warnings?: readonly string[];
}

type RunOptions = Omit<SendOptions, keyof ValidateOptions>;

async function run(opts: RunOptions, prepare: (getWire: () => Wire, concurrency: number, timeoutMs: number) => Promise<RunInput>): Promise<ApprovedSendResult> {
  const startedAt = new Date().toISOString();
  const concurrency = opts.concurrency ?? 4;
  const timeoutMs = (opts.timeoutSeconds ?? 30) * 1000;
  // Configuration and the HTTP client are made on first need: a run that has nothing to send
  // (every row already sent) needs neither credentials nor a token.
  let wire: Wire | undefined;
  const getWire = (): Wire => {
    if (!wire) {
      const config = typeof opts.config === 'function' ? opts.config() : opts.config;
      const http = new HttpClient({ concurrency, timeoutMs });
      const tokens = new TokenSource(http, config, { timeoutMs });
      wire = { config, http, tokens, client: new CanvasClient({ http, config, tokens }) };
    }
    return wire;
  };
  try {
    const input = await prepare(getWire, concurrency, timeoutMs);
    const origin = opts.origin ?? (wire ? wire.config.baseUrl.origin : typeof opts.config === 'object' ? opts.config.baseUrl.origin : undefined);
    checkOutDir(opts.out); // a refused --out folder stops the run before a ledger is created
    const ledger = openLedger(opts.ledgerFile, origin); // an unusable ledger stops the run before any output
    try {
      opts.onLedger?.({ file: ledger.file, created: ledger.created });
      // The instance the letters go to must be the ledger's, whatever named it.
      const boundWire = () => {
        const w = getWire();
        ledger.bindOrigin(w.config.baseUrl.origin);
        return w;
      };
      return await sendPlan(opts, input, ledger, startedAt, boundWire);
    } finally {
      ledger.close();
    }
  } finally {
    wire?.client.close();
  }
}

async function sendPlan(opts: RunOptions, input: RunInput, ledger: Ledger, startedAt: string, getWire: () => Wire): Promise<ApprovedSendResult> {
  const { plan } = input;
  const refused = input.invalid > 0 && !opts.skipInvalid;
  const resendUnknown = opts.resendUnknown === true;
  const resendChanged = opts.resendChanged === true;
  const { decisions, counts, changed, earlier, notes } = await input.decide(ledger, resendUnknown);
  const toSend = refused ? 0 : counts[Decision.Send] + counts[Decision.Resend];
  // Something to send: configuration problems stop the run here, before any output.
  const wire = toSend > 0 ? getWire() : undefined;

  prepareOutDir(opts.out);
  const report = new ReportSink(new ReportWriter(opts.out), opts.onRow);
  const add = (row: ReportRow) => report.add(row);
  const run = {
    command: 'send', csv: input.csv, out: opts.out, startedAt,
    ...(changed.size > 0 && { changed: changed.size, ...(resendChanged && { resendChanged, resent: counts[Decision.Resend] }) }),
    ...(opts.configUsed && { config: opts.configUsed }),
    ...(input.approval && { approval: input.approval }),
    ...(input.warnings?.length && { warnings: [...input.warnings] }),
  };
  const close = async (preflight: Preflight | undefined, end: RunEnd = {}): Promise<ApprovedSendResult> => ({
    ...(preflight ? { preflight } : {}),
    ...(end.refusal ? { refusal: end.refusal } : {}),
    ...(await report.close(summaryBase(run, end), end.pass)),
  });

  if (refused && plan) {
    for await (const { planned } of planRows(plan)) {
      try {
        add(refusedRow(plan, planned));
      } catch {
        // the report cannot be written: counted, and said by close()
      }
    }
    // Ctrl-C during --lookup leaves keys unread (invalid rows): the run was interrupted, not refused.
    if (opts.lookupFhir && opts.signal?.aborted) return close(undefined, { interrupted: true, stopReason: 'interrupted during the lookup; nothing was sent' });
    return close(undefined, { refusal: 'invalid-rows', stopReason: `${input.invalid} invalid rows; nothing was sent` });
  }

  const preflight: Preflight = {
    rows: input.rows,
    toSend,
    alreadySent: counts[Decision.AlreadySent],
    changed: changed.size,
    resendChanged,
    resent: counts[Decision.Resend],
    unknown: counts[Decision.Unknown],
    invalid: input.invalid,
    duplicates: input.duplicates,
    overLimit: counts[Decision.OverLimit],
    notApproved: input.notApproved,
    host: wire?.config.baseUrl.host ?? '',
  };
  const concurrency = opts.concurrency ?? 4;
  const source = input.source;
  const approval = input.approval && { id: input.approval.id, approver: input.approval.approver };
  const pass = (more: Partial<SenderOptions>) =>
    runSender({ ...opts, source, ...(approval && { approval }), decisions, changed, earlier, notes, toSend, ledger, add, concurrency, resendUnknown, ...more });

  if (!wire) return close(preflight, stopped(await pass({})));
  if (opts.confirm && !(await opts.confirm(preflight))) {
    const outcome = await pass({ notSending: 'not confirmed' });
    return close(preflight, { refusal: 'not-confirmed', stopReason: 'not confirmed; nothing was sent', pass: outcome });
  }

  const first = await firstToken(wire.tokens, opts.signal, opts.retryBaseDelayMs);
  if (first === 'interrupted') {
    const outcome = await pass({ notSending: 'interrupted' });
    return close(preflight, { interrupted: true, stopReason: 'interrupted before the first letter', pass: outcome });
  }
  if (first) {
    const outcome = await pass({ notSending: first });
    return close(preflight, { refusal: 'credentials', stopReason: first, pass: outcome });
  }
  const outcome = await pass({ sending: wire });
  // Credentials refused on the very first letters: nothing was sent (exit 2).
  const credentialsRefused = outcome.authFailure === 'unauthorized' && report.counts.sent === 0 && report.counts.unknown === 0;
  return close(preflight, { interrupted: outcome.interrupted, ...(credentialsRefused ? { refusal: 'credentials' as const } : {}), ...stopped(outcome) });
}

/**
 * How a run ended, for its summary: why it was refused (report.json's `refused`), whether its
 * signal fired while letters were to be sent (`interrupted`), why it stopped, and the sender's
 * outcome (`pass`: its write failure and what it could not record).
 */
interface RunEnd {
  refusal?: Refusal;
  interrupted?: boolean;
  stopReason?: string;
  pass?: SenderOutcome;
}

/** The stop reason and the outcome of a pass, for the summary. */
function stopped(outcome: SenderOutcome): RunEnd {
  return { ...(outcome.stopReason ? { stopReason: outcome.stopReason } : {}), pass: outcome };
}

/** The summary's fields of a run that ended so. */
function summaryBase(run: Pick<SummaryBase, 'command' | 'csv' | 'out' | 'startedAt' | 'config' | 'approval' | 'changed' | 'resendChanged' | 'resent' | 'warnings'>, end: RunEnd): SummaryBase {
  return {
    ...run,
    refused: end.refusal !== undefined,
    interrupted: end.interrupted === true,
    ...(end.stopReason !== undefined ? { stopReason: end.stopReason } : {}),
  };
}

/**
 * The run's report: rows go to the ReportWriter until a write fails. That first failure is
 * thrown (the sender stops on it); the rows after it are counted, not written. Closing never
 * throws for a write failure: the summary is built here when report.json cannot be written.
 */
class ReportSink {
  readonly counts = emptyCounts();
  private failure?: string;
  private unreported = 0;

  constructor(
    private readonly writer: ReportWriter,
    private readonly onRow?: (row: ReportRow) => void,
  ) {}

  add(row: ReportRow): void {
    this.counts[row.status]++;
    this.onRow?.(row);
    if (this.failure !== undefined) {
      this.unreported++;
      return;
    }
    try {
      this.writer.add(row);
    } catch (err) {
      this.unreported++;
      this.failure = `${showName(this.writer.csvPath)}: cannot write the report (${(err as Error).message})`;
      throw new Error(this.failure, { cause: err });
    }
  }

  /** Write report.json with `run` (the stop reason becomes the first write failure, when there was one). */
  async close(run: SummaryBase, outcome?: SenderOutcome): Promise<{ summary: ReportSummary; writeFailure?: WriteFailure }> {
    const base = { ...run };
    let message = this.failure ?? outcome?.writeFailure;
    if (message !== undefined) base.stopReason = message;
    let summary: ReportSummary;
    let summaryUnwritten = false;
    try {
      summary = await this.writer.close(base);
    } catch (err) {
      summaryUnwritten = true;
      message ??= `${showName(this.writer.jsonPath)}: cannot write the report (${(err as Error).message})`;
      summary = this.unsavedSummary({ ...base, stopReason: base.stopReason ?? message });
    }
    if (message === undefined) return { summary };
    // A run stopped by a write failure: exit 1 once sending had begun, 2 when nothing was sent.
    const exitCode = outcome?.began || this.counts.sent > 0 || this.counts.unknown > 0 ? 1 : 2;
    const counts = { ...this.counts };
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
    return { summary: { ...summary, counts, rows, exitCode }, writeFailure: { message, unrecorded: outcome?.unrecorded ?? [], unreported: this.unreported, summaryUnwritten } };
  }

  /** The summary report.json would have held. */
  private unsavedSummary(base: SummaryBase): ReportSummary {
    return {
      ...base,
      finishedAt: new Date().toISOString(),
      rows: Object.values(this.counts).reduce((a, b) => a + b, 0),
      counts: { ...this.counts },
      exitCode: exitCodeFor(this.counts, base),
      reportCsv: this.writer.csvPath,
      reportJson: this.writer.jsonPath,
    };
  }
}

type SummaryBase = Omit<ReportSummary, 'rows' | 'counts' | 'reportCsv' | 'reportJson' | 'exitCode' | 'finishedAt'>;

function openLedger(file: string, origin: string | undefined): Ledger {
  try {
    return Ledger.open(file, { origin });
  } catch (err) {
    if (err instanceof LedgerError) throw err;
    throw new LedgerError(`${showName(file)}: cannot open the ledger (${(err as Error).message})`, 'check the --ledger path and its permissions');
  }
}

/**
 * Get the run's first token before any letter, under the first token's table: credentials
 * refused (or a TLS problem, or a wrong address), or a token endpoint that stays unreachable
 * over 5 tries (backoff from `baseDelayMs`), means nothing is sent (exit 2). Returns why,
 * 'interrupted' when the signal fired (no token request starts after it), or undefined.
 */
async function firstToken(tokens: TokenSource, signal: AbortSignal | undefined, baseDelayMs?: number): Promise<string | undefined> {
  return retry<string | undefined>(tokens, {
    signal,
    baseDelayMs,
    attempt: async () => ({ kind: 'done', value: undefined }),
    aborted: () => 'interrupted',
    refused: (error) => `no access token: ${error.message}`,
    refusedAgain: () => 'no access token: refused twice', // never: the attempt makes no request
    gaveUp: (_, last) => (signal?.aborted ? 'interrupted' : `no access token: ${last.reason}`),
  });
}
