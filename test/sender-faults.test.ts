/**
 * The send pass under write failures, in-process with fakes: a ledger whose writes reject, a
 * report writer that throws ENOSPC, and a fake clock for the recording backoff. Order is proven
 * with an event log kept by the fakes (never timing windows).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CanvasClient, TokenSource } from '../src/canvas/index.js';
import type { ClaimResult, FinishRequest } from '../src/ledger/ledger.js';
import { Decision } from '../src/send/decide.js';
import { planSource, runSender, type SenderOptions } from '../src/send/pass.js';
import type { ReportRow } from '../src/types.js';
import { validateBatch, type Plan } from '../src/plan/validate.js';
import { FileChangedError, planRows } from '../src/plan/replay.js';
import { ROOT } from './support/cli.js';

const ROWS = 20; // samples/jury-duty.csv

async function jurorPlan(): Promise<Plan> {
  return validateBatch({ csv: join(ROOT, 'samples', 'jury-duty.csv'), templatesDir: join(ROOT, 'templates'), template: 'jury-duty' });
}

/** Every ready row to send. */
function sendAll(plan: Plan): Uint8Array {
  const decisions = new Uint8Array(plan.rows + 1);
  for (const row of plan.readyRows()) decisions[row] = Decision.Send;
  return decisions;
}

/** A Canvas client whose letters are created after a turn of the event loop; it logs every start and end. */
function fakeCanvas(log: string[]) {
  const state = { started: 0, inFlight: 0 };
  const client = {
    async createLetter(letter: { patientKey: string }) {
      const n = ++state.started;
      state.inFlight++;
      log.push(`start ${n}`);
      await new Promise((resolve) => setImmediate(resolve));
      state.inFlight--;
      log.push(`end ${n}`);
      return { kind: 'created' as const, httpStatus: 201, letterId: `L${n}-${letter.patientKey.slice(-4)}` };
    },
    close() {},
  } as unknown as CanvasClient;
  const tokens = { token: async () => 'token-1', renew: async () => 'token-2' } as unknown as TokenSource;
  return { state, sending: { client, tokens } };
}

/** A ledger in memory; `failFinish(n)` decides whether the n-th finish call rejects. */
function fakeLedger(log: string[], failFinish: (call: number) => Error | undefined) {
  const records = new Map<string, FinishRequest | 'pending' | 'released'>();
  const state = { finishCalls: 0, pendingWrites: 0 };
  const ledger = {
    async claim(req: { letterKey: string }): Promise<ClaimResult> {
      records.set(req.letterKey, 'pending');
      return { claimed: true };
    },
    async finish(letterKey: string, result: FinishRequest): Promise<void> {
      const err = failFinish(++state.finishCalls);
      state.pendingWrites++;
      await Promise.resolve();
      state.pendingWrites--;
      if (err) {
        log.push('finish failed');
        throw err;
      }
      records.set(letterKey, result);
    },
    async release(letterKey: string): Promise<void> {
      records.set(letterKey, 'released');
    },
    get: () => undefined,
  };
  return { records, state, ledger };
}

/** A fake clock for the recording backoff: sleeping moves it forward at once. */
function fakeClock() {
  const c = { now: 0, slept: [] as number[] };
  return {
    clock: c,
    recordRetry: {
      budgetMs: 2_000,
      now: () => c.now,
      sleep: async (ms: number) => {
        c.slept.push(ms);
        c.now += ms;
      },
    },
  };
}

function options(plan: Plan, more: Partial<SenderOptions> & Pick<SenderOptions, 'ledger' | 'add'>): SenderOptions {
  return { source: planSource(plan), decisions: sendAll(plan), toSend: plan.rows, concurrency: 4, retryBaseDelayMs: 0, ...more };
}

/** After the first entry matching `failure`, no letter request starts. */
function noStartAfter(log: string[], failure: string): void {
  const at = log.indexOf(failure);
  expect(at).toBeGreaterThanOrEqual(0);
  expect(log.slice(at).filter((e) => e.startsWith('start'))).toEqual([]);
}

describe('send pass: a ledger that cannot record outcomes', () => {
  it('stops starting letters, waits for every request in flight, retries within the budget, and lists each unrecorded row with its outcome', async () => {
    const plan = await jurorPlan();
    const log: string[] = [];
    const canvas = fakeCanvas(log);
    const { ledger, state } = fakeLedger(log, () => new Error('ledger: /tmp/x/ledger.db: database or disk is full'));
    const { clock, recordRetry } = fakeClock();
    const rows: ReportRow[] = [];
    const outcome = await runSender(options(plan, { ledger, add: (r) => rows.push(r), sending: canvas.sending, recordRetry }));

    // Resolved (never rejected) only once nothing is in flight: the caller may close the ledger and the client.
    expect(canvas.state.inFlight).toBe(0);
    expect(state.pendingWrites).toBe(0);
    noStartAfter(log, 'finish failed');
    expect(outcome.writeFailure).toBe('ledger: /tmp/x/ledger.db: database or disk is full');
    expect(outcome.stopReason).not.toMatch(/ledger: ledger:/);
    expect(outcome.began).toBe(true);

    // Every letter Canvas created is listed, row by row, with its Canvas letter id.
    const sent = rows.filter((r) => r.status === 'sent');
    expect(sent).toHaveLength(canvas.state.started);
    expect(outcome.unrecorded.map((u) => u.row).sort((a, b) => a - b)).toEqual(sent.map((r) => r.row).sort((a, b) => a - b));
    for (const u of outcome.unrecorded) {
      expect(u.outcome).toBe(`sent, Canvas letter id ${rows.find((r) => r.row === u.row)!.letterId}`);
      expect(u.letterKey).toBe(plan.letterKeyOf(u.row));
    }
    for (const r of sent) expect(r.error).toMatch(/not recorded in the ledger.*Canvas created it \(letter id L[^)]*\): never send it again with --resend-unknown/);
    // Retried with backoff, and not past the budget.
    expect(state.finishCalls).toBeGreaterThan(canvas.state.started);
    expect(clock.slept.length).toBeGreaterThan(0);
    expect(clock.now).toBeLessThanOrEqual(recordRetry.budgetMs);
    // Every row is accounted for, once.
    expect(rows.map((r) => r.row).sort((a, b) => a - b)).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
    expect(rows.filter((r) => r.status === 'not_attempted').every((r) => r.error === 'not attempted: ledger: /tmp/x/ledger.db: database or disk is full')).toBe(true);
  });

  it('records an outcome on a retry when the ledger was locked only for a moment, and still stops starting letters', async () => {
    const plan = await jurorPlan();
    const log: string[] = [];
    const canvas = fakeCanvas(log);
    const { ledger, records } = fakeLedger(log, (n) => (n <= 2 ? new Error('/tmp/x/ledger.db: the ledger is locked by another process') : undefined));
    const { recordRetry } = fakeClock();
    const rows: ReportRow[] = [];
    const outcome = await runSender(options(plan, { ledger, add: (r) => rows.push(r), sending: canvas.sending, recordRetry }));

    expect(outcome.unrecorded).toEqual([]);
    expect(outcome.writeFailure).toBe('ledger: /tmp/x/ledger.db: the ledger is locked by another process');
    noStartAfter(log, 'finish failed');
    const sent = rows.filter((r) => r.status === 'sent');
    expect(sent).toHaveLength(canvas.state.started);
    for (const r of sent) expect(records.get(plan.letterKeyOf(r.row)!)).toMatchObject({ status: 'sent', letterId: r.letterId });
  });
});

describe('send pass: a report that cannot be written', () => {
  it('stops starting letters on ENOSPC, and every letter Canvas created is still recorded sent in the ledger', async () => {
    const plan = await jurorPlan();
    const log: string[] = [];
    const canvas = fakeCanvas(log);
    const { ledger, records } = fakeLedger(log, () => undefined);
    let adds = 0;
    const add = () => {
      if (++adds < 3) return;
      log.push('report failed');
      throw Object.assign(new Error('/tmp/out/report.csv: cannot write the report (ENOSPC: no space left on device, write)'), { code: 'ENOSPC' });
    };
    const outcome = await runSender(options(plan, { ledger, add, sending: canvas.sending, recordRetry: fakeClock().recordRetry }));

    expect(outcome.writeFailure).toBe('/tmp/out/report.csv: cannot write the report (ENOSPC: no space left on device, write)');
    expect(outcome.stopReason).toBe(outcome.writeFailure);
    expect(outcome.unrecorded).toEqual([]);
    expect(canvas.state.inFlight).toBe(0);
    noStartAfter(log, 'report failed');
    expect(canvas.state.started).toBeGreaterThan(0);
    const sentInLedger = [...records.values()].filter((r) => typeof r === 'object' && r.status === 'sent');
    expect(sentInLedger).toHaveLength(canvas.state.started);
    // Claimed but never sent: released, so a later run sends them.
    expect([...records.values()].filter((r) => r === 'pending')).toEqual([]);
    // Every row still went to the report writer once (it is the writer that could not keep them).
    expect(adds).toBe(ROWS);
  });
});

/** Row numbers 1..ROWS, the rows every pass must report once each. */
const ALL_ROWS = Array.from({ length: ROWS }, (_, i) => i + 1);

/** One pass over the plan against the fake Canvas and a fake ledger that records everything. */
async function passOnFakes(plan: Plan) {
  const log: string[] = [];
  const canvas = fakeCanvas(log);
  const { ledger } = fakeLedger(log, () => undefined);
  const rows: ReportRow[] = [];
  const outcome = await runSender(options(plan, { ledger, add: (r) => rows.push(r), sending: canvas.sending }));
  return { canvas, rows, outcome };
}

const sortedRows = (rows: ReportRow[]) => rows.map((r) => r.row).sort((a, b) => a - b);

describe('send pass: something not expected while handling a row', () => {
  it('reports that row not_attempted with the message, stops starting letters, and still reports every row once', async () => {
    const plan = await jurorPlan();
    // The fifth letter to render throws (loaded templates are frozen: the set hands out a copy).
    const templates = plan.templates;
    const get = templates.get.bind(templates);
    let renders = 0;
    templates.get = (name) => {
      const t = get(name);
      return {
        ...t,
        renderLetter: (data) => {
          if (++renders === 5) throw new TypeError('renderer broke');
          return t.renderLetter(data);
        },
      };
    };
    const { canvas, rows, outcome } = await passOnFakes(plan);

    expect(sortedRows(rows)).toEqual(ALL_ROWS);
    expect(outcome.stopReason).toBe('renderer broke');
    expect(outcome.interrupted).toBe(false);
    expect(canvas.state.inFlight).toBe(0);
    // The row that threw keeps its keys and says why; no row is blamed on a changed file.
    expect(rows.find((r) => r.row === 5)).toMatchObject({ status: 'not_attempted', error: 'not attempted: renderer broke' });
    expect(rows.find((r) => r.row === 5)!.patientKey).not.toBe('');
    expect(rows.some((r) => /changed/.test(r.error ?? ''))).toBe(false);
    // Letters queued before it went out; none started after it.
    expect(rows.filter((r) => r.status === 'sent').map((r) => r.row)).toEqual(ALL_ROWS.slice(0, canvas.state.started));
    expect(canvas.state.started).toBeLessThan(5);
    for (const r of rows.filter((x) => x.row > 5)) expect(r).toMatchObject({ status: 'not_attempted', error: 'not attempted: renderer broke' });
  });
});

describe('send pass: the file changed since validation', () => {
  it('reports the rows it read, then every row it can no longer read not_attempted with FileChangedError\'s message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-changed-'));
    try {
      const csv = join(dir, 'jury-duty.csv');
      copyFileSync(join(ROOT, 'samples', 'jury-duty.csv'), csv);
      utimesSync(csv, 1e9, 1e9); // whole seconds, so the same time can be set again
      const plan = await validateBatch({ csv, templatesDir: join(ROOT, 'templates'), template: 'jury-duty' });
      // Row 8's patientName changes; same size and time, so only the letter key can tell.
      const text = readFileSync(csv, 'utf8');
      expect(text).toContain('Aaliyah Johnson');
      writeFileSync(csv, text.replace('Aaliyah Johnson', 'Aaliyah Johnsen'));
      utimesSync(csv, 1e9, 1e9);

      const drain = async () => {
        for await (const row of planRows(plan)) void row;
      };
      await expect(drain()).rejects.toBeInstanceOf(FileChangedError);

      const { rows, outcome } = await passOnFakes(plan);

      expect(sortedRows(rows)).toEqual(ALL_ROWS);
      expect(outcome.stopReason).toMatch(/row 8: the file changed while it was being processed/);
      // The rows read before it were handled from the plan (a letter still queued at the stop is not sent).
      for (const r of rows.filter((x) => x.row < 8)) {
        expect(r.patientKey).not.toBe('');
        expect(['sent', 'not_attempted']).toContain(r.status);
      }
      for (const r of rows.filter((x) => x.row >= 8)) expect(r).toMatchObject({ status: 'not_attempted', patientKey: '', error: `not attempted: ${outcome.stopReason}` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
