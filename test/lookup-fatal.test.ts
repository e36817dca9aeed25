/**
 * What stops a lookup (LookupError, exit code 2, before anything is sent): a second 401, a 401
 * on a static token, a 403 (cancelling the other reads), and a FHIR API that cannot be reached.
 */
import { describe, expect, it } from 'vitest';
import { ROW, cleanups, directory, expectClean, json, loadError, ok, serve, texts } from './lookup-fhir-server.js';

describe('Directory: fatal problems', () => {
  it('stops at a second 401 with a LookupError, and at a 401 on a static token', async () => {
    const s = await serve((req, res) => (req.url!.startsWith('/auth/token/') ? json(res, 200, { access_token: 'tok-fresh' }) : json(res, 401, {})));
    const { dir } = directory({ base: s.base, client: true });
    expect((await loadError(dir, [ROW])).message).toMatch(/refused the access token again after renewing it \(HTTP 401\)/);
    const { dir: staticDir } = directory({ base: s.base });
    const error = await loadError(staticDir, [ROW]);
    expect(error.message).toMatch(/CANVAS_ACCESS_TOKEN/);
    expectClean(error.message);
  });

  it('stops at a 403 with a LookupError saying the credentials cannot read FHIR, cancelling the other reads', async () => {
    const s = await serve((req, res, n) => {
      if (req.url!.startsWith('/Patient/p403')) return json(res, 403, { resourceType: 'OperationOutcome', issue: [{ details: { text: 'insufficient scope' } }] });
      if (req.url!.startsWith('/Patient/')) return; // hangs: cancelled by the fatal 403
      ok(req, res, n);
    });
    const { dir } = directory({ base: s.base, concurrency: 2 });
    const rows = [{ ...ROW, patientKey: 'p403' }, ...Array.from({ length: 10 }, (_, i) => ({ ...ROW, patientKey: `slow${i}` }))];
    const started = Date.now();
    const error = await loadError(dir, rows);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error.message).toMatch(/does not let these API credentials read Patient resources from the FHIR API \(HTTP 403: insufficient scope\)/);
    expect(s.requests).toBeLessThan(rows.length);
    expectClean(error.message);
    await expect(dir.load(rows)).rejects.toBe(error);
  });

  it('stops with a LookupError when the FHIR API cannot be reached at all', async () => {
    const s = await serve(ok);
    const base = s.base;
    await cleanups.pop()!(); // the server is gone: connection refused
    const sleeps: number[] = [];
    const { dir } = directory({ base, sleeps });
    const error = await loadError(dir, [ROW, { ...ROW, patientKey: 'another' }]);
    expect(error.message).toMatch(/could not be reached: every read failed \(connection refused \(gave up after 5 attempts\)\).*CANVAS_FHIR_BASE_URL/);
    expect(sleeps).toHaveLength(4 * 4);
    expectClean(texts(dir, [ROW], error));
  });

  it('cancel() stops the reads: load resolves and problemsFor names the keys left unread', async () => {
    const s = await serve((req, res, n) => (req.url!.startsWith('/Patient/') ? undefined : ok(req, res, n)));
    const { dir } = directory({ base: s.base, concurrency: 1 });
    const rows = [ROW, { ...ROW, patientKey: 'second' }];
    const loading = dir.load(rows);
    setTimeout(() => dir.cancel(), 100);
    await loading;
    expect(dir.problemsFor(rows[1]!)[0]).toEqual({ field: 'patientKey', message: 'the lookup was stopped before the Patient was read' });
    expect(dir.problemsFor(ROW).map((p) => p.field)).toEqual(['patientKey', 'providerKey', 'practiceLocationKey']); // queued behind it
    expect(s.hits.has('/Patient/second')).toBe(false);
  });

  it('stops with a LookupError when no token can be had for any read', async () => {
    const s = await serve((req, res, n) => (req.url!.startsWith('/auth/token/') ? json(res, 503, {}) : ok(req, res, n)));
    const { dir } = directory({ base: s.base, client: true, sleeps: [] });
    const error = await loadError(dir, [ROW]);
    expect(error.message).toMatch(/no access token could be had for the FHIR API \(token request failed: HTTP 503/);
    expect(s.requests).toBe(0);
    expectClean(error.message);
  });
});
