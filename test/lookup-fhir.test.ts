/**
 * Directory against a tiny local FHIR server: each key read once, the concurrency limit, the
 * retry policy (5xx, 429, timeouts, 401 renewal), problems of one key (404, other 4xx, retries
 * exhausted), and that no message holds a key, a token or patient data. Fatal cases:
 * lookup-fatal.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LOC, PAT, PROV, ROW, TOKEN, directory, expectClean, json, ok, serve, texts } from './lookup-fhir-server.js';
import type { Keys } from '../src/types.js';

describe('Directory', () => {
  it('reads each distinct key once for many rows and maps the fields', async () => {
    const s = await serve(ok);
    const { dir } = directory({ base: s.base });
    const pats = ['p0000000000000000000000000000001', 'p0000000000000000000000000000002', 'p0000000000000000000000000000003'];
    const rows: Keys[] = Array.from({ length: 30 }, (_, i) => ({ patientKey: pats[i % 3]!, providerKey: i % 2 ? PROV : 'prov2', practiceLocationKey: LOC }));
    await dir.load(rows);
    await dir.load(rows.slice(0, 5)); // already read: no new request
    expect(s.requests).toBe(6);
    for (const [path, n] of s.hits) expect(n, path).toBe(1);
    expect(s.hits.has(`/Patient/${pats[0]}`)).toBe(true);
    expect(s.headers[0]).toMatchObject({ authorization: `Bearer ${TOKEN}`, accept: 'application/fhir+json' });
    expect(dir.fieldsFor({ patientKey: 'unread', providerKey: 'unread', practiceLocationKey: '' })).toEqual({});
    expect(dir.fieldsFor(rows[1]!)).toEqual({
      'patient.firstName': 'Siobhán', 'patient.lastName': "O'Brien", 'patient.fullName': "Siobhán O'Brien",
      'patient.birthDate': '1958-03-14', 'patient.address': '12 Oak Street, Eugene, OR 97401',
      'provider.fullName': 'Elena Vásquez', 'provider.credentials': 'MD',
      'location.name': 'Maple Grove Family Medicine', 'location.address': '1450 Alder Street, Suite 210, Springfield, OR 97477', 'location.phone': '(541) 555-0142',
    });
    expect(dir.problemsFor(rows[1]!)).toEqual([]);
    expect(dir.stats).toMatchObject({ reads: 6, found: 6, notFound: 0, errors: 0, requests: 6 });
  });

  it('never has more reads in flight than the concurrency', async () => {
    const s = await serve(ok, 25);
    const { dir } = directory({ base: s.base, concurrency: 3 });
    const rows = Array.from({ length: 20 }, (_, i) => ({ patientKey: `pat${i}`, providerKey: PROV, practiceLocationKey: LOC }));
    await dir.load(rows);
    expect(s.requests).toBe(22);
    expect(s.maxInFlight).toBe(3);
  });

  it('reports unknown keys (404, 410) by field, without the key; empty keys are left to validation', async () => {
    const s = await serve((req, res) => (req.url!.startsWith('/Practitioner/') ? json(res, 410, {}) : req.url!.startsWith('/Patient/') ? json(res, 404, {}) : ok(req, res, 1)));
    const { dir } = directory({ base: s.base });
    const rows = [ROW, { ...ROW, patientKey: '' }];
    await dir.load(rows);
    expect(s.requests).toBe(3);
    expect(dir.problemsFor(ROW)).toEqual([
      { field: 'patientKey', message: 'Canvas has no Patient with this key' },
      { field: 'providerKey', message: 'Canvas has no Practitioner with this key' },
    ]);
    expect(dir.problemsFor(rows[1]!)).toHaveLength(1);
    expect(Object.keys(dir.fieldsFor(ROW))).toEqual(['location.name', 'location.address', 'location.phone']);
    expect(dir.stats).toMatchObject({ reads: 3, notFound: 2, found: 1 });
    expectClean(texts(dir, rows));
  });

  it('retries a 500 and a 429 (honouring Retry-After), then finds the resource', async () => {
    const s = await serve((req, res, n) => {
      if (req.url!.startsWith('/Patient/') && n === 1) return json(res, 500, { resourceType: 'OperationOutcome', issue: [{ diagnostics: 'database busy' }] });
      if (req.url!.startsWith('/Location/') && n === 1) return json(res, 429, {}, { 'retry-after': '2' });
      ok(req, res, n);
    });
    const sleeps: number[] = [];
    const { dir } = directory({ base: s.base, sleeps });
    await dir.load([ROW]);
    expect(dir.problemsFor(ROW)).toEqual([]);
    expect(dir.fieldsFor(ROW)['patient.fullName']).toBe("Siobhán O'Brien");
    expect(s.requests).toBe(5);
    expect(sleeps.sort((a, b) => a - b)).toEqual([250, 2000]); // backoff: 0.5 * 500 ms; Retry-After: 2 s
  });

  it('retries after a timeout', async () => {
    const s = await serve((req, res, n) => (req.url!.startsWith('/Patient/') && n === 1 ? undefined : ok(req, res, n)));
    const { dir } = directory({ base: s.base, timeoutMs: 300 });
    await dir.load([ROW]);
    expect(dir.problemsFor(ROW)).toEqual([]);
    expect(s.hits.get(`/Patient/${PAT}`)).toBe(2);
  });

  it('gives up on one key after 5 attempts: a problem for its rows, not fatal', async () => {
    const s = await serve((req, res, n) => (req.url!.startsWith('/Patient/') ? json(res, 503, {}) : ok(req, res, n)));
    const { dir } = directory({ base: s.base });
    await dir.load([ROW]);
    expect(s.hits.get(`/Patient/${PAT}`)).toBe(5);
    expect(dir.problemsFor(ROW)).toEqual([{ field: 'patientKey', message: 'could not read the Patient from Canvas: HTTP 503 Service Unavailable (gave up after 5 attempts)' }]);
    expect(dir.stats).toMatchObject({ errors: 1, found: 2, requests: 7 });
  });

  it('reports another 4xx with the OperationOutcome text, the key and token removed', async () => {
    const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', details: { text: `Invalid id ${PAT} for ${TOKEN}` } }] };
    const s = await serve((req, res, n) => (req.url!.startsWith('/Patient/') ? json(res, 400, outcome) : ok(req, res, n)));
    const { dir } = directory({ base: s.base });
    await dir.load([ROW]);
    expect(s.hits.get(`/Patient/${PAT}`)).toBe(1);
    expect(dir.problemsFor(ROW)).toEqual([{ field: 'patientKey', message: 'could not read the Patient from Canvas: HTTP 400: Invalid id [redacted] for [redacted]' }]);
    expectClean(texts(dir, [ROW]));
  });

  it('refuses a key that cannot be a FHIR id without a request', async () => {
    const s = await serve(ok);
    const { dir } = directory({ base: s.base });
    const row = { ...ROW, patientKey: '../Location/x' };
    await dir.load([row]);
    expect(s.requests).toBe(2);
    expect(dir.problemsFor(row)).toEqual([{ field: 'patientKey', message: 'not a valid Patient key (Canvas keys are 1-64 letters, digits, "-" or ".")' }]);
  });

  it('renews the token after a 401 and reads again', async () => {
    let issued = 0;
    const s = await serve((req, res, n) => {
      if (req.url!.startsWith('/auth/token/')) return json(res, 200, { access_token: `tok-${++issued}`, expires_in: 3600 });
      if (req.headers.authorization === 'Bearer tok-1') return json(res, 401, {});
      ok(req, res, n);
    });
    const { dir, tokens } = directory({ base: s.base, client: true });
    await dir.load([ROW]);
    expect(dir.problemsFor(ROW)).toEqual([]);
    expect(tokens.tokenRequests).toBe(2);
    expect(s.requests).toBe(6);
  });

  it('keeps messages free of keys, tokens and patient data', async () => {
    const s = await serve((req, res, n) => {
      if (req.url!.startsWith('/Patient/')) return json(res, 422, { resourceType: 'OperationOutcome', issue: [{ diagnostics: `bad ${decodeURIComponent(req.url!.slice(9))}` }] });
      if (req.url!.startsWith('/Practitioner/')) return json(res, 200, { resourceType: 'Patient', name: [{ family: "O'Brien" }] });
      if (req.url!.startsWith('/Location/')) return json(res, 302, {}, { location: 'https://elsewhere.example/' });
      ok(req, res, n);
    });
    const { dir } = directory({ base: s.base });
    await dir.load([ROW]);
    const problems = dir.problemsFor(ROW);
    expect(problems.map((p) => p.field)).toEqual(['patientKey', 'providerKey', 'practiceLocationKey']);
    expect(problems[1]!.message).toMatch(/without a FHIR Practitioner resource/);
    expect(problems[2]!.message).toMatch(/redirect \(HTTP 302\) not followed/);
    expectClean(texts(dir, [ROW]));
  });
});
