/**
 * Ctrl-C during `--lookup`: the run's signal reaches the FHIR reads. Fake HTTP clients that
 * never answer (or answer 503 against an hour-long backoff) show that reads in flight, backoffs
 * and queued reads all stop once it fires: nothing here waits on a real timer.
 */
import { describe, expect, it } from 'vitest';
import { HttpClient, HttpFailure, TokenSource, type CanvasConfig, type HttpRequest, type HttpResponse } from '../src/canvas/index.js';
import { openDirectory } from '../src/lookup/index.js';
import type { Keys } from '../src/types.js';

const CONFIG: CanvasConfig = { baseUrl: new URL('https://example.canvasmedical.com/'), credentials: { kind: 'token', accessToken: 'tok-abc' } };
const rows: Keys[] = Array.from({ length: 10 }, (_, i) => ({ patientKey: `pat${i}`, providerKey: 'prov1', practiceLocationKey: 'loc1' }));

/** An HTTP client whose GETs go to `answer`, with every request's signal kept. */
function fakeHttp(answer: (req: HttpRequest) => Promise<HttpResponse>) {
  const signals: (AbortSignal | undefined)[] = [];
  const http = {
    get: (_url: URL, req: HttpRequest) => {
      signals.push(req.signal);
      return answer(req);
    },
  } as unknown as HttpClient;
  return { http, signals };
}

/** Never answers; rejects as an abort when the request's signal fires. */
const hang = (req: HttpRequest) =>
  new Promise<HttpResponse>((_, reject) => req.signal?.addEventListener('abort', () => reject(new HttpFailure('ERR_ABORTED', false)), { once: true }));

const unavailable = async (): Promise<HttpResponse> => ({ status: 503, statusMessage: 'Service Unavailable', headers: {}, body: '' });

function open(http: HttpClient, signal: AbortSignal, retryBaseDelayMs?: number) {
  return openDirectory({ config: CONFIG, http, tokens: new TokenSource(http, CONFIG), concurrency: 2, timeoutMs: 3_600_000, retryBaseDelayMs, signal });
}

const tick = () => new Promise((r) => setImmediate(r));

describe('an aborted lookup stops promptly', () => {
  it('reads in flight that never answer end when the run signal fires; queued reads never start', async () => {
    const { http, signals } = fakeHttp(hang);
    const run = new AbortController();
    const dir = open(http, run.signal);
    const loading = dir.load(rows);
    await tick();
    expect(signals).toHaveLength(2); // the concurrency
    run.abort();
    await loading;
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s?.aborted)).toBe(true);
    expect(dir.problemsFor(rows[0]!)).toContainEqual({ field: 'patientKey', message: 'the lookup was stopped before the Patient was read' });
    expect(dir.stats.reads).toBe(0);
  });

  it('backoffs of up to the 30 s cap (an hour-long retry base) are cut short, and no read is retried or started', async () => {
    const { http, signals } = fakeHttp(unavailable);
    const run = new AbortController();
    const dir = open(http, run.signal, 3_600_000);
    const loading = dir.load(rows.slice(0, 1));
    while (signals.length < 2) await tick(); // two keys answered 503 and wait; the third is queued
    await tick();
    run.abort();
    await loading;
    expect(signals).toHaveLength(2);
    expect(dir.problemsFor(rows[0]!)).toHaveLength(3);
  });

  // With the default base (500 ms) four backoffs average 3.75 s per read: a retry base of 0 must be honoured.
  it('the configured retry base reaches the reads', { timeout: 2_000 }, async () => {
    const { http, signals } = fakeHttp(unavailable);
    const dir = open(http, new AbortController().signal, 0);
    await dir.load(rows.slice(0, 1)).catch(() => undefined); // every read failed with an answer: not fatal
    expect(signals).toHaveLength(15);
    expect(dir.problemsFor(rows[0]!)[0]?.message).toMatch(/gave up after 5 attempts/);
  });

  it('an already aborted run signal reads nothing', async () => {
    const { http, signals } = fakeHttp(hang);
    const dir = open(http, AbortSignal.abort());
    await dir.load(rows);
    expect(signals).toHaveLength(0);
  });
});
