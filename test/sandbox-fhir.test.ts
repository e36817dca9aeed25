/**
 * The sandbox's FHIR reads: GET /Patient|Practitioner|Location/<id> from a directory (the bundled
 * sample by default), bearer tokens, scriptFhir faults, latency, read counts, the control API, the
 * real lookup client against it, and the CLI's --directory. Port 0 and 127.0.0.1 only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, TokenSource, type CanvasConfig } from '../src/canvas/index.js';
import { Directory } from '../src/lookup/index.js';
import { TOKEN_PATH, startSandbox, type DirectoryData, type Sandbox, type SandboxOptions } from '../src/sandbox/index.js';
import { ROOT, runCli, startCli, tempDir, waitFor } from './support/cli.js';

const SAMPLE = join(ROOT, 'samples', 'sandbox-directory.json');
const JURY = parse<Record<string, string>>(readFileSync(join(ROOT, 'samples', 'jury-duty.csv'), 'utf8'), { columns: true });
const PAT = JURY[0]!.patientKey!;
const PROV = JURY[0]!.providerKey!;
const LOC = JURY[0]!.practiceLocationKey!;
const open: Sandbox[] = [];
const cleanups: (() => unknown)[] = [];

async function sandbox(opts?: SandboxOptions): Promise<Sandbox> {
  const sb = await startSandbox(opts);
  open.push(sb);
  return sb;
}

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await Promise.all(open.splice(0).map((sb) => sb.close()));
});

async function token(sb: Sandbox): Promise<string> {
  const body = 'grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret';
  const res = await fetch(sb.url + TOKEN_PATH, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  return ((await res.json()) as { access_token: string }).access_token;
}

function read(sb: Sandbox, path: string, bearer?: string, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/fhir+json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  return fetch(`${sb.url}/${path}`, { ...init, headers });
}

async function outcome(res: Response): Promise<{ code: string; text: string }> {
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const body = (await res.json()) as { resourceType: string; issue: { code: string; details: { text: string } }[] };
  expect(body.resourceType).toBe('OperationOutcome');
  return { code: body.issue[0]!.code, text: body.issue[0]!.details.text };
}

describe('sandbox FHIR reads', () => {
  it('serves the bundled sample directory by default: every key of samples/jury-duty.csv resolves', async () => {
    const sb = await sandbox();
    expect(sb.directory).toEqual({ source: SAMPLE, counts: { Patient: 34, Practitioner: 3, Location: 2 } });
    const t = await token(sb);
    const res = await read(sb, `Patient/${PAT}`, t);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const sample = JSON.parse(readFileSync(SAMPLE, 'utf8')) as Required<DirectoryData>;
    expect(await res.json()).toEqual(sample.Patient[PAT]);
    for (const row of JURY) {
      for (const [type, key] of [['Patient', row.patientKey], ['Practitioner', row.providerKey], ['Location', row.practiceLocationKey]]) {
        const r = await read(sb, `${type}/${key}`, t);
        expect(r.status, `${type}/${key}`).toBe(200);
        expect(((await r.json()) as { resourceType: string; id: string })).toMatchObject({ resourceType: type, id: key });
      }
    }
  });

  it('needs a valid bearer token: 401 OperationOutcome without one, with a revoked or an expired one', async () => {
    const sb = await sandbox({ tokenLifetimeSeconds: 0.2 });
    const missing = await read(sb, `Patient/${PAT}`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await outcome(missing)).code).toBe('login');
    expect((await read(sb, `Patient/${PAT}`, 'made-up')).status).toBe(401);
    const t = await token(sb);
    expect((await read(sb, `Practitioner/${PROV}`, t)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await read(sb, `Practitioner/${PROV}`, t)).status).toBe(401);
    const fresh = await token(sb);
    sb.revokeTokens();
    expect((await read(sb, `Location/${LOC}`, fresh)).status).toBe(401);
  });

  it('answers 404 not-found for an unknown id, 405 for other methods, and leaves other paths alone', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    const res = await read(sb, 'Patient/no-such-patient', t);
    expect(res.status).toBe(404);
    expect(await outcome(res)).toEqual({ code: 'not-found', text: 'Resource Patient/no-such-patient is not known' });
    expect((await read(sb, `Location/${PAT}`, t)).status).toBe(404); // ids are per type
    const post = await read(sb, `Patient/${PAT}`, t, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect((await read(sb, 'Encounter/abc', t)).status).toBe(404);
    expect(sb.stats().fhirReads).toBe(2);
  });

  it('serves a directory object (ids filled in from the keys, copied at start), a file, or none', async () => {
    const data: DirectoryData = { Patient: { 'p-1': { resourceType: 'Patient', name: [{ family: 'Ng' }] } } };
    const sb = await sandbox({ directory: data });
    data.Patient!['p-1']!.name = 'changed';
    expect(sb.directory).toEqual({ source: null, counts: { Patient: 1, Practitioner: 0, Location: 0 } });
    const t = await token(sb);
    expect(await (await read(sb, 'Patient/p-1', t)).json()).toEqual({ resourceType: 'Patient', name: [{ family: 'Ng' }], id: 'p-1' });
    expect((await read(sb, `Patient/${PAT}`, t)).status).toBe(404);

    const file = join(tempDir('cl-dir-'), 'dir.json');
    writeFileSync(file, JSON.stringify({ Location: { 'loc.9': { resourceType: 'Location', id: 'loc.9', name: 'Annex' } } }));
    const fromFile = await sandbox({ directory: file });
    expect(fromFile.directory).toEqual({ source: file, counts: { Patient: 0, Practitioner: 0, Location: 1 } });
    expect(await (await read(fromFile, 'Location/loc.9', await token(fromFile))).json()).toMatchObject({ name: 'Annex' });

    for (const none of [false, {}] as const) {
      const empty = await sandbox({ directory: none });
      expect(empty.directory.counts).toEqual({ Patient: 0, Practitioner: 0, Location: 0 });
      expect((await read(empty, `Patient/${PAT}`, await token(empty))).status).toBe(404);
    }
  });

  it('refuses a bad directory with an error naming the file', async () => {
    const dir = tempDir('cl-dir-');
    const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.json'), /cannot read sandbox directory .*missing\.json: no such file/],
      [dir, /cannot read sandbox directory .*: it is a folder/],
      [write('broken.json', '{"Patient": '), /sandbox directory .*broken\.json is not valid JSON/],
      [write('array.json', '[]'), /sandbox directory .*array\.json: must be a JSON object/],
      [write('type.json', '{"Encounter": {}}'), /type\.json: unknown resource type "Encounter"/],
      [write('kind.json', '{"Patient": {"a": {"resourceType": "Location"}}}'), /kind\.json: Patient\/a: resourceType must be "Patient"/],
      [write('id.json', '{"Patient": {"a": {"resourceType": "Patient", "id": "b"}}}'), /id\.json: Patient\/a: its "id" differs from its key/],
      [write('key.json', '{"Patient": {"a/b": {"resourceType": "Patient"}}}'), /key\.json: Patient\/a\/b: the key is not a FHIR id/],
    ];
    for (const [file, message] of cases) await expect(startSandbox({ directory: file }), file).rejects.toThrow(message);
    await expect(startSandbox({ directory: { Patient: [] } as unknown as DirectoryData })).rejects.toThrow(/sandbox directory \(object\): Patient must be an object/);
  });
});

describe('sandbox FHIR faults and counts', () => {
  it('scriptFhir gives the next reads these outcomes in order, apart from the Letter script', async () => {
    const sb = await sandbox({ retryAfter: '7' });
    const t = await token(sb);
    sb.script('500');
    sb.scriptFhir('500', 'ok', '429', '503', '404', '401', '403');
    expect((await read(sb, 'Patient/unknown')).status).toBe(401); // unauthenticated: the script is kept
    const res500 = await read(sb, `Patient/${PAT}`, t);
    expect(res500.status).toBe(500);
    expect((await outcome(res500)).code).toBe('exception');
    expect((await read(sb, `Patient/${PAT}`, t)).status).toBe(200);
    for (const status of [429, 503]) {
      const res = await read(sb, `Patient/${PAT}`, t);
      expect(res.status).toBe(status);
      expect(res.headers.get('retry-after')).toBe('7');
    }
    expect((await read(sb, `Patient/${PAT}`, t)).status).toBe(404);
    const r401 = await read(sb, `Patient/${PAT}`, t);
    expect([r401.status, r401.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    expect((await outcome(await read(sb, `Patient/${PAT}`, t))).code).toBe('forbidden');
    expect((await read(sb, `Patient/${PAT}`, t)).status).toBe(200); // script used up: normal again
    expect(sb.stats().outcomes['500']).toBe(0); // the Letter script is untouched
    expect(() => sb.scriptFhir('502' as never)).toThrow(/unknown FHIR fault kind "502"/);
  });

  it('hang answers nothing until the client aborts; reset destroys the socket; latency applies', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    sb.scriptFhir('hang', 'reset');
    const ac = new AbortController();
    const hung = read(sb, `Patient/${PAT}`, t, { signal: ac.signal }).then(() => 'answered', (e: Error) => e.name);
    const early = await Promise.race([hung, new Promise((r) => setTimeout(() => r('waiting'), 300))]);
    expect(early).toBe('waiting');
    ac.abort();
    expect(await hung).toBe('AbortError');
    await expect(read(sb, `Patient/${PAT}`, t)).rejects.toThrow(/fetch failed/);
    sb.setFaults({ latencyMs: 200 });
    const start = Date.now();
    expect((await read(sb, `Patient/${PAT}`, t)).status).toBe(200);
    expect(Date.now() - start).toBeGreaterThanOrEqual(180);
  });

  it('counts reads per type and per key; reset() clears counts and script; stats and fhir-script over HTTP', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    sb.scriptFhir('500', '500');
    for (const path of [`Patient/${PAT}`, `Patient/${PAT}`, `Practitioner/${PROV}`, 'Location/nope']) await read(sb, path, t);
    expect(sb.stats()).toMatchObject({
      fhirReads: 4,
      fhirReadsByType: { Patient: 2, Practitioner: 1, Location: 1 },
      fhirReadCounts: { [`Patient/${PAT}`]: 2, [`Practitioner/${PROV}`]: 1, 'Location/nope': 1 },
      letterRequests: 0,
    });
    const stats = (await (await fetch(`${sb.url}/sandbox/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ fhirReads: 4, fhirReadsByType: { Patient: 2, Practitioner: 1, Location: 1 } });
    expect(stats).not.toHaveProperty('fhirReadCounts');

    sb.scriptFhir('503');
    sb.reset();
    expect(sb.stats()).toMatchObject({ fhirReads: 0, fhirReadsByType: { Patient: 0, Practitioner: 0, Location: 0 }, fhirReadCounts: {} });
    expect((await read(sb, `Patient/${PAT}`, t)).status).toBe(200);

    const script = (kinds: unknown) => fetch(`${sb.url}/sandbox/fhir-script`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kinds }) });
    expect((await script(['422'])).status).toBe(400);
    expect((await script(['404', 'ok'])).status).toBe(204);
    expect((await read(sb, `Patient/${PAT}`, t)).status).toBe(404);
    expect((await read(sb, `Patient/${PAT}`, t)).status).toBe(200);
  });

  it('the lookup client reads each key of samples/jury-duty.csv once, through a scripted 503', async () => {
    const sb = await sandbox({ retryAfter: '0' });
    const config: CanvasConfig = { baseUrl: new URL(sb.url), credentials: { kind: 'client', clientId: 'sandbox-client', clientSecret: 'sandbox-secret' } };
    const http = new HttpClient({ concurrency: 4, timeoutMs: 5_000 });
    cleanups.push(() => http.close());
    const dir = new Directory({ http, tokens: new TokenSource(http, config), fhirBase: new URL(`${sb.url}/`), concurrency: 4 });
    sb.scriptFhir('503');
    const rows = JURY.map((r) => ({ patientKey: r.patientKey!, providerKey: r.providerKey!, practiceLocationKey: r.practiceLocationKey! }));
    await dir.load(rows);
    for (const row of rows) expect(dir.problemsFor(row)).toEqual([]);
    expect(dir.fieldsFor(rows[0]!)).toMatchObject({ 'patient.birthDate': JURY[0]!.dateOfBirth });
    const keys = new Set(rows.flatMap((r) => [`Patient/${r.patientKey}`, `Practitioner/${r.providerKey}`, `Location/${r.practiceLocationKey}`]));
    const counts = sb.stats().fhirReadCounts;
    expect(Object.keys(counts).sort()).toEqual([...keys].sort());
    expect(Object.values(counts).reduce((a, b) => a + b)).toBe(keys.size + 1); // one retry after the 503
    expect(Object.values(counts).filter((n) => n !== 1)).toEqual([2]);
  });
});

describe('canvas-letters sandbox --directory', () => {
  it('prints the directory counts on stderr, and refuses a bad file naming it', async () => {
    const file = join(tempDir('cl-dir-'), 'people.json');
    writeFileSync(file, JSON.stringify({ Patient: { a: { resourceType: 'Patient' }, b: { resourceType: 'Patient' } }, Practitioner: {} }));
    const cli = startCli(['sandbox', '--port', '0', '--directory', file]);
    let err = '';
    cli.child.stderr!.on('data', (d: string) => (err += d));
    await waitFor(() => err.includes('Inbox: '), 15_000);
    cli.child.kill('SIGINT');
    const { code, stderr } = await cli.done;
    expect(code).toBe(0);
    expect(stderr).toContain(`FHIR: 2 patients, 0 practitioners, 0 locations from ${file}\n`);

    const bad = join(tempDir('cl-dir-'), 'bad.json');
    writeFileSync(bad, 'not json');
    const r = runCli(['sandbox', '--port', '0', '--directory', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--directory: sandbox directory ${bad} is not valid JSON`);
  });
});
