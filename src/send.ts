/**
 * `send`: validate every row, settle what the ledger already knows (sent → skipped,
 * pending/unknown → unknown), confirm, then create each remaining letter in Canvas exactly
 * once through the sender, and write the report as rows finish.
 */
import { planRows, prepareOutDir, refusedRow, reportRow } from './batch.js';
import { AuthError, CanvasClient, TokenSource, TokenUnavailableError, abortableSleep, backoffDelay, HttpClient, type CanvasConfig } from './canvas/index.js';
import { showName } from './escape.js';
import { Ledger, LedgerError, type LedgerRecord } from './ledger.js';
import { Directory, fhirBaseUrl } from './lookup/index.js';
import { ReportWriter, type ReportSummary } from './report.js';
import { Decision, runSender, type SenderOptions, type SendProgress } from './sender.js';
import type { ReportRow } from './types.js';
import { validateBatch, type Plan, type PlannedRow, type ValidateOptions } from './validate.js';

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
  /** Aborting stops starting new letters; requests in flight finish and are recorded. */
  signal?: AbortSignal;
  /** Asked once, after validation and before any credential is used; false → nothing is sent. */
  confirm?: (preflight: Preflight) => boolean | Promise<boolean>;
  onValidated?: (plan: Plan) => void;
  onRow?: (row: ReportRow) => void;
  onProgress?: (progress: SendProgress) => void;
  /** Backoff base for retries in ms (default 500; tests make it small). */
  retryBaseDelayMs?: number;
  /** `--lookup`: read patients, providers and locations from the Canvas FHIR API, with the run's token. */
  lookupFhir?: boolean;
}

/** What is about to happen, for the confirmation prompt. */
export interface Preflight {
  rows: number;
  toSend: number;
  alreadySent: number;
  unknown: number;
  invalid: number;
  duplicates: number;
  overLimit: number;
  host: string;
}

export interface SendResult {
  plan: Plan;
  preflight?: Preflight;
  summary: ReportSummary;
  /** Canvas refused the credentials before any letter was created (nothing was sent). */
  credentialsRefused?: boolean;
}

const UNKNOWN_BEFORE = 'earlier outcome unknown (ledger): check the patient chart in Canvas, then use --resend-unknown to send it again';

/** What the ledger says of a ready row: already sent, unknown (not resent), or undefined to send it. */
export function ledgerDecision(rec: LedgerRecord | undefined, resendUnknown: boolean): Decision.AlreadySent | Decision.Unknown | undefined {
  if (!rec || rec.status === 'failed') return undefined;
  if (rec.status === 'sent') return Decision.AlreadySent;
  return resendUnknown ? undefined : Decision.Unknown;
}

/** The report row for a ready row the ledger already knows, or undefined when it is to be sent. */
export function ledgerVerdict(p: PlannedRow, rec: LedgerRecord | undefined, resendUnknown: boolean): ReportRow | undefined {
  const decision = ledgerDecision(rec, resendUnknown);
  if (decision === Decision.AlreadySent) {
    return reportRow(p, 'skipped', {
      error: `already sent (ledger: ${rec!.sourceFile} row ${rec!.row}, ${rec!.updatedAt})`,
      ...(rec!.letterId ? { letterId: rec!.letterId } : {}),
    });
  }
  return decision === Decision.Unknown ? reportRow(p, 'unknown', { error: UNKNOWN_BEFORE }) : undefined;
}

/** The HTTP client of a run: one keep-alive agent and one token for lookups and letters. */
interface Wire {
  config: CanvasConfig;
  http: HttpClient;
  client: CanvasClient;
  tokens: TokenSource;
}

export async function send(opts: SendOptions): Promise<SendResult> {
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
    let lookup = opts.lookup;
    if (opts.lookupFhir) {
      const { config, http, tokens } = getWire();
      lookup = new Directory({ http, tokens, fhirBase: fhirBaseUrl(config), concurrency, timeoutMs, retryBaseDelayMs: opts.retryBaseDelayMs });
    }
    const plan = await validateBatch({ ...opts, lookup });
    opts.onValidated?.(plan);
    const origin = opts.origin ?? (wire ? wire.config.baseUrl.origin : typeof opts.config === 'object' ? opts.config.baseUrl.origin : undefined);
    const ledger = openLedger(opts.ledgerFile, origin); // an unusable ledger stops the run before any output
    try {
      opts.onLedger?.({ file: ledger.file, created: ledger.created });
      // The instance the letters go to must be the ledger's, whatever named it.
      const boundWire = () => {
        const w = getWire();
        ledger.bindOrigin(w.config.baseUrl.origin);
        return w;
      };
      return await sendPlan(opts, plan, ledger, startedAt, boundWire);
    } finally {
      ledger.close();
    }
  } finally {
    wire?.client.close();
  }
}

async function sendPlan(opts: SendOptions, plan: Plan, ledger: Ledger, startedAt: string, getWire: () => Wire): Promise<SendResult> {
  const refused = plan.invalid > 0 && !opts.skipInvalid;
  const resendUnknown = opts.resendUnknown === true;
  const { decisions, counts } = decide(plan, ledger, resendUnknown, opts.limit);
  const toSend = refused ? 0 : counts[Decision.Send];
  // Something to send: configuration problems stop the run here, before any output.
  const wire = toSend > 0 ? getWire() : undefined;

  prepareOutDir(opts.out);
  const report = new ReportWriter(opts.out);
  const add = (row: ReportRow) => {
    report.add(row);
    opts.onRow?.(row);
  };
  const close = (extra: { refused?: boolean; interrupted?: boolean; stopReason?: string } = {}) =>
    report.close({ command: 'send', csv: opts.csv, out: opts.out, startedAt, refused: false, interrupted: false, ...extra });

  if (refused) {
    for await (const { planned } of planRows(plan)) add(refusedRow(plan, planned));
    return { plan, summary: await close({ refused: true, stopReason: `${plan.invalid} invalid rows; nothing was sent` }) };
  }

  const preflight: Preflight = {
    rows: plan.rows,
    toSend,
    alreadySent: counts[Decision.AlreadySent],
    unknown: counts[Decision.Unknown],
    invalid: plan.invalid,
    duplicates: plan.skipped,
    overLimit: counts[Decision.OverLimit],
    host: wire?.config.baseUrl.host ?? '',
  };
  const concurrency = opts.concurrency ?? 4;
  const pass = (more: Partial<SenderOptions>) =>
    runSender({ ...opts, plan, decisions, toSend, ledger, add, concurrency, verdict: (p, rec) => ledgerVerdict(p, rec, resendUnknown), ...more });

  if (!wire) {
    await pass({});
    return { plan, preflight, summary: await close() };
  }
  if (opts.confirm && !(await opts.confirm(preflight))) {
    await pass({ notSending: 'not confirmed' });
    return { plan, preflight, summary: await close({ refused: true, stopReason: 'not confirmed; nothing was sent' }) };
  }

  const refusal = await firstToken(wire.tokens, opts.signal);
  if (refusal) {
    await pass({ notSending: refusal });
    return { plan, preflight, credentialsRefused: true, summary: await close({ refused: true, stopReason: refusal }) };
  }
  const outcome = await pass({ sending: wire });
  // Credentials refused on the very first letters: nothing was sent (exit 2).
  const credentialsRefused = outcome.authFailure === 'unauthorized' && report.counts.sent === 0 && report.counts.unknown === 0;
  return {
    plan,
    preflight,
    credentialsRefused,
    summary: await close({
      interrupted: outcome.interrupted,
      refused: credentialsRefused,
      stopReason: outcome.stopReason,
    }),
  };
}

/** Decide each ready row from the ledger (in chunks), before anything is sent: what the confirmation shows. */
function decide(plan: Plan, ledger: Ledger, resendUnknown: boolean, limit: number | undefined) {
  const decisions = new Uint8Array(plan.rows + 1);
  const counts = { [Decision.Send]: 0, [Decision.AlreadySent]: 0, [Decision.Unknown]: 0, [Decision.OverLimit]: 0 };
  const rows = [...plan.readyRows()];
  for (let i = 0; i < rows.length; i += LOOKUP_CHUNK) {
    const chunk = rows.slice(i, i + LOOKUP_CHUNK);
    const known = ledger.lookup(chunk.map((row) => plan.letterKeyOf(row)!));
    for (const row of chunk) {
      const d =
        ledgerDecision(known.get(plan.letterKeyOf(row)!), resendUnknown) ??
        (limit !== undefined && counts[Decision.Send] >= limit ? Decision.OverLimit : Decision.Send);
      decisions[row] = d;
      counts[d]++;
    }
  }
  return { decisions, counts };
}

const LOOKUP_CHUNK = 5_000;

function openLedger(file: string, origin: string | undefined): Ledger {
  try {
    return Ledger.open(file, { origin });
  } catch (err) {
    if (err instanceof LedgerError) throw err;
    throw new LedgerError(`${showName(file)}: cannot open the ledger (${(err as Error).message})`, 'check the --ledger path and its permissions');
  }
}

/**
 * Get the run's first token before any letter: credentials refused (or a TLS problem, or a
 * wrong address), or a token endpoint that stays unreachable over 5 tries, means nothing is sent
 * (exit 2). Returns why, or undefined.
 */
async function firstToken(tokens: TokenSource, signal?: AbortSignal): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      await tokens.token();
      return undefined;
    } catch (err) {
      if (err instanceof AuthError) return `no access token: ${err.message}`;
      if (!(err instanceof TokenUnavailableError)) throw err;
      if (attempt >= 5 || signal?.aborted) return `no access token: ${err.message}`;
      await abortableSleep(err.retryAfterMs ?? backoffDelay(attempt, 500, 30_000, Math.random), signal);
    }
  }
}
