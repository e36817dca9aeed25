/**
 * The sandbox (local Canvas stand-in): token and Letter endpoints, fault injection, the JSON
 * control API and its lifecycle. Port 0 only, 127.0.0.1 only, via fetch and node:http.
 */
import { Agent, request } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { LETTER_PATH, TOKEN_PATH, parseFaultRates, type Sandbox } from '../src/sandbox/index.js';
import { trackedSandboxes } from './support/sandbox.js';

const LETTER = { patientKey: 'pat-1', providerKey: 'prov-1', practiceLocationKey: 'loc-1', content: '<html><body>Dear Ann</body></html>' };
const sandbox = trackedSandboxes();

function tokenRequest(sb: Sandbox, form: Record<string, string>): Promise<Response> {
  return fetch(sb.url + TOKEN_PATH, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

async function token(sb: Sandbox): Promise<string> {
  const res = await tokenRequest(sb, { grant_type: 'client_credentials', client_id: 'sandbox-client', client_secret: 'sandbox-secret' });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

function post(sb: Sandbox, bearer: string | undefined, body: unknown = LETTER, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  return fetch(sb.url + LETTER_PATH, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body), signal });
}

async function outcomeText(res: Response): Promise<{ code: string; text: string }> {
  const body = (await res.json()) as { resourceType: string; issue: { severity: string; code: string; details: { text: string } }[] };
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue[0]?.severity).toBe('error');
  return { code: body.issue[0]?.code ?? '', text: body.issue.map((i) => i.details.text).join(' | ') };
}

describe('sandbox token endpoint', () => {
  it('issues a Bearer token for good credentials', async () => {
    const sb = await sandbox({ tokenLifetimeSeconds: 120 });
    const res = await tokenRequest(sb, { grant_type: 'client_credentials', client_id: 'sandbox-client', client_secret: 'sandbox-secret' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 120 });
    expect(typeof body.access_token).toBe('string');
    expect((body.access_token as string).length).toBeGreaterThanOrEqual(32);
    expect(typeof body.scope).toBe('string');
    expect(sb.stats()).toMatchObject({ tokenRequests: 1, tokensIssued: 1 });
  });

  it('refuses bad credentials with 401 invalid_client', async () => {
    const sb = await sandbox({ clientId: 'me', clientSecret: 's3cret' });
    const wrong = await tokenRequest(sb, { grant_type: 'client_credentials', client_id: 'me', client_secret: 'nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'invalid_client' });
    const missing = await tokenRequest(sb, { grant_type: 'client_credentials' });
    expect(missing.status).toBe(401);
    expect(sb.stats()).toMatchObject({ tokenRequests: 2, tokensIssued: 0 });
  });

  it('refuses a wrong or missing grant_type with 400 unsupported_grant_type', async () => {
    const sb = await sandbox();
    for (const form of [{ grant_type: 'password' }, {}] as Record<string, string>[]) {
      const res = await tokenRequest(sb, { ...form, client_id: 'sandbox-client', client_secret: 'sandbox-secret' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'unsupported_grant_type' });
    }
  });
});

describe('sandbox Letter endpoint', () => {
  it('stores a letter sent with a valid token and answers 201 with its letterKey', async () => {
    const sb = await sandbox();
    const res = await post(sb, await token(sb));
    expect(res.status).toBe(201);
    const { letterKey } = (await res.json()) as { letterKey: string };
    expect(sb.letters).toHaveLength(1);
    expect(sb.letters[0]).toMatchObject({ ...LETTER, id: letterKey, size: Buffer.byteLength(LETTER.content) });
    expect(Number.isNaN(Date.parse(sb.letters[0]?.receivedAt ?? ''))).toBe(false);
    expect(sb.stats().outcomes.ok).toBe(1);
  });

  it('answers 401 OperationOutcome without a token or with an unknown one, and stores nothing', async () => {
    const sb = await sandbox();
    for (const bearer of [undefined, 'not-a-token']) {
      const res = await post(sb, bearer);
      expect(res.status).toBe(401);
      expect(await outcomeText(res)).toEqual({ code: 'login', text: 'Authentication credentials were not provided or are invalid.' });
    }
    expect(sb.letters).toHaveLength(0);
    expect(sb.stats()).toMatchObject({ letterRequests: 2 });
  });

  it('answers 401 after revokeTokens', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    expect((await post(sb, t)).status).toBe(201);
    sb.revokeTokens();
    expect((await post(sb, t)).status).toBe(401);
    expect((await post(sb, await token(sb))).status).toBe(201);
  });

  it('answers 401 once the token has expired', async () => {
    const sb = await sandbox({ tokenLifetimeSeconds: 1 });
    const t = await token(sb);
    expect((await post(sb, t)).status).toBe(201);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post(sb, t)).status).toBe(401);
    expect(sb.letters).toHaveLength(1);
  });

  it('answers 400 naming each missing or empty field, and 400 on a body that is not JSON', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    const res = await post(sb, t, { ...LETTER, providerKey: '', content: undefined });
    expect(res.status).toBe(400);
    const { code, text } = await outcomeText(res);
    expect(code).toBe('invalid');
    expect(text).toContain('providerKey');
    expect(text).toContain('content');
    expect(text).not.toContain('patientKey');
    const bad = await post(sb, t, '{"patientKey": ');
    expect(bad.status).toBe(400);
    expect((await outcomeText(bad)).code).toBe('invalid');
    expect(sb.letters).toHaveLength(0);
  });

  it('answers 404 OperationOutcome for any other path', async () => {
    const sb = await sandbox();
    const res = await fetch(`${sb.url}/core/api/letter/v1/Nope`);
    expect(res.status).toBe(404);
    expect((await outcomeText(res)).code).toBe('not-found');
  });
});

describe('sandbox faults', () => {
  it('gives scripted outcomes in order with the right status, Retry-After and OperationOutcome', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    sb.script('429', '503', '500', '502', '504', '422', '403', '401', 'ok');
    const expected: [number, string][] = [
      [429, 'throttled'],
      [503, 'transient'],
      [500, 'exception'],
      [502, 'transient'],
      [504, 'timeout'],
      [422, 'processing'],
      [403, 'forbidden'],
      [401, 'login'],
    ];
    for (const [status, code] of expected) {
      const res = await post(sb, t);
      expect(res.status).toBe(status);
      expect(res.headers.get('retry-after')).toBe(status === 429 || status === 503 ? '1' : null);
      const outcome = await outcomeText(res);
      expect(outcome.code).toBe(code);
      expect(outcome.text).not.toContain('Dear Ann');
      if (status === 422) expect(outcome.text).toBe('Patient with key pat-1 not found');
    }
    expect((await post(sb, t)).status).toBe(201);
    expect((await post(sb, t)).status).toBe(201); // script used up: rates (none) apply
    expect(sb.letters).toHaveLength(2);
    expect(sb.stats().outcomes).toMatchObject({ '429': 1, '503': 1, '401': 1, ok: 2 });
  });

  it('sends the configured Retry-After, which may be an HTTP date', async () => {
    const date = 'Wed, 21 Oct 2026 07:28:00 GMT';
    const sb = await sandbox({ retryAfter: date });
    sb.script('503');
    expect((await post(sb, await token(sb))).headers.get('retry-after')).toBe(date);
  });

  it("'reset' stores the letter and destroys the socket without answering", async () => {
    const sb = await sandbox();
    const t = await token(sb);
    sb.script('reset');
    await expect(post(sb, t)).rejects.toThrow();
    expect(sb.letters).toHaveLength(1);
    expect(sb.stats().outcomes.reset).toBe(1);
    expect((await post(sb, t)).status).toBe(201); // the next request gets a fresh connection
  });

  it("'hang' stores the letter and never answers, and close() still returns promptly", async () => {
    const sb = await sandbox();
    const t = await token(sb);
    sb.script('hang', 'hang');
    await expect(post(sb, t, LETTER, AbortSignal.timeout(200))).rejects.toThrow();
    expect(sb.letters).toHaveLength(1);
    await vi.waitFor(() => expect(sb.stats().inFlight).toBe(0)); // the aborted request is no longer in flight
    const pending = post(sb, t).catch((err: unknown) => err);
    await vi.waitFor(() => expect(sb.letters).toHaveLength(2));
    expect(sb.stats().inFlight).toBe(1);
    const started = Date.now();
    await sb.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('draws the same outcome sequence for the same seed', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const sb = await sandbox({ seed, rates: { '429': 0.3, '500': 0.2, '422': 0.1 } });
      const t = await token(sb);
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await post(sb, t)).status);
      return statuses;
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(new Set(a)).toEqual(new Set([201, 429, 500, 422]));
    expect(await run(8)).not.toEqual(a);
  });

  it('replays the seeded sequence after reset()', async () => {
    const sb = await sandbox({ seed: 3, rates: { '503': 0.5 } });
    const t = await token(sb);
    const seq = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 12; i++) out.push((await post(sb, t)).status);
      return out;
    };
    const first = await seq();
    sb.reset();
    expect(sb.letters).toHaveLength(0);
    expect(sb.stats().letterRequests).toBe(0);
    expect(await seq()).toEqual(first);
  });

  it('counts concurrent Letter requests in maxInFlight and applies latency to each', async () => {
    const sb = await sandbox({ latencyMs: 100 });
    const t = await token(sb);
    const started = Date.now();
    const statuses = await Promise.all(Array.from({ length: 10 }, async () => (await post(sb, t)).status));
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(statuses).toEqual(Array(10).fill(201));
    const stats = sb.stats();
    expect(stats).toMatchObject({ letterRequests: 10, maxInFlight: 10, inFlight: 0 });
    expect(stats.startTimes).toHaveLength(10);
  });

  it('answers an empty 201 or a plain-text 200 when responseBody says so', async () => {
    const sb = await sandbox({ responseBody: 'empty' });
    const t = await token(sb);
    const empty = await post(sb, t);
    expect(empty.status).toBe(201);
    expect(await empty.text()).toBe('');
    sb.setFaults({ responseBody: 'text' });
    const text = await post(sb, t);
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toContain(sb.letters[1]?.id);
    expect(sb.letters).toHaveLength(2);
  });

  it('refuses bad fault settings from setFaults', async () => {
    const sb = await sandbox();
    expect(() => sb.setFaults({ rates: { '429': 2 } })).toThrow(/0 to 1/);
    expect(() => sb.setFaults({ latencyMs: -1 })).toThrow(/latencyMs/);
    expect(() => sb.script('nope' as never)).toThrow(/unknown fault kind/);
  });
});

describe('sandbox control API and lifecycle', () => {
  it('lists letters without content, gets one with content, deletes all, and reports stats', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    await post(sb, t);
    await post(sb, t, { ...LETTER, patientKey: 'pat-2' });
    const list = (await (await fetch(`${sb.url}/sandbox/letters`)).json()) as Record<string, unknown>[];
    expect(list.map((l) => l.patientKey)).toEqual(['pat-2', 'pat-1']); // newest first
    expect(Object.keys(list[0] ?? {}).sort()).toEqual(['approvalId', 'id', 'patientKey', 'practiceLocationKey', 'providerKey', 'receivedAt', 'size', 'subject', 'template']);
    expect(list[0]).toMatchObject({ template: null, subject: null, approvalId: null });
    const one = await fetch(`${sb.url}/sandbox/letters/${String(list[0]?.id)}`);
    expect(await one.json()).toMatchObject({ patientKey: 'pat-2', content: LETTER.content });
    expect((await fetch(`${sb.url}/sandbox/letters/unknown`)).status).toBe(404);
    const stats = (await (await fetch(`${sb.url}/sandbox/stats`)).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ tokenRequests: 1, tokensIssued: 1, letterRequests: 2, inFlight: 0, maxInFlight: 1 });
    expect(stats).not.toHaveProperty('startTimes');
    expect((await fetch(`${sb.url}/sandbox/letters`, { method: 'DELETE' })).status).toBe(204);
    expect(sb.letters).toHaveLength(0);
  });

  it("keeps a letter's X-Canvas-Letters-Approval header as its approvalId when it is a UUID, and nothing else", async () => {
    const sb = await sandbox();
    const t = await token(sb);
    const headers = (approval: string) => ({ 'Content-Type': 'application/json', Authorization: `Bearer ${t}`, 'X-Canvas-Letters-Approval': approval });
    const id = '3b2c1d4e-5f60-4718-9a2b-3c4d5e6f7a8b';
    expect((await fetch(sb.url + LETTER_PATH, { method: 'POST', headers: headers(id), body: JSON.stringify(LETTER) })).status).toBe(201);
    for (const bad of ['<b>not an id</b>', 'not-a-uuid', 'DROP', id.toUpperCase(), `${id}0`]) {
      expect((await fetch(sb.url + LETTER_PATH, { method: 'POST', headers: headers(bad), body: JSON.stringify(LETTER) })).status).toBe(201);
    }
    expect(sb.letters.map((l) => l.approvalId)).toEqual([id, ...Array(5).fill(undefined)]);
    const list = (await (await fetch(`${sb.url}/sandbox/letters`)).json()) as { approvalId: string | null }[];
    expect(list.map((l) => l.approvalId)).toEqual([...Array(5).fill(null), id]);
    const one = (await (await fetch(`${sb.url}/sandbox/letters/${sb.letters[0]!.id}`)).json()) as { approvalId: string | null };
    expect(one.approvalId).toBe(id);
  });

  it('changes faults with PUT /sandbox/faults and refuses bad ones with 400', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    const put = (body: unknown): Promise<Response> =>
      fetch(`${sb.url}/sandbox/faults`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const ok = await put({ rates: { '403': 1 }, retryAfter: '5' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ rates: { '403': 1 }, retryAfter: '5' });
    expect((await post(sb, t)).status).toBe(403);
    expect((await put({ rates: { teapot: 0.1 } })).status).toBe(400);
    expect((await put({ rates: {} })).status).toBe(200);
    expect((await post(sb, t)).status).toBe(201);
  });

  it('scripts outcomes and revokes tokens over HTTP', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    const script = await fetch(`${sb.url}/sandbox/script`, { method: 'POST', body: JSON.stringify({ kinds: ['502'] }) });
    expect(script.status).toBe(204);
    expect((await post(sb, t)).status).toBe(502);
    expect((await fetch(`${sb.url}/sandbox/revoke-tokens`, { method: 'POST' })).status).toBe(204);
    expect((await post(sb, t)).status).toBe(401);
  });

  it('listens on 127.0.0.1 only', async () => {
    const sb = await sandbox();
    const url = new URL(sb.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(sb.port);
    expect(sb.port).toBeGreaterThan(0);
  });

  it('serves several requests over one keep-alive socket and closes promptly with it idle', async () => {
    const sb = await sandbox();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const reused: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${sb.url}/sandbox/stats`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        reused.push(req.reusedSocket);
        req.end();
      });
    }
    expect(reused.slice(1)).toEqual([true, true]);
    const started = Date.now();
    await sb.close();
    expect(Date.now() - started).toBeLessThan(1000);
    agent.destroy();
  });

  it('never writes letter content or tokens to stdout or stderr', async () => {
    const writes: string[] = [];
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    try {
      const sb = await sandbox();
      const t = await token(sb);
      sb.script('500', 'reset');
      await post(sb, t);
      await post(sb, t).catch(() => undefined);
      await post(sb, t, '{bad');
      await post(sb, t);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(writes.join('')).toBe('');
  });
});

describe('parseFaultRates', () => {
  it('accepts kind=rate specs, also comma-separated', () => {
    expect(parseFaultRates(['429=0.1', 'reset=0.05'])).toEqual({ '429': 0.1, reset: 0.05 });
    expect(parseFaultRates(['503=0.2,hang=0', '401=0.3'])).toEqual({ '503': 0.2, hang: 0, '401': 0.3 });
    expect(parseFaultRates([])).toEqual({});
  });

  it('refuses unknown kinds, bad rates, duplicates and totals over 1 with a clear message', () => {
    expect(() => parseFaultRates(['418=0.1'])).toThrow(/unknown kind "418"/);
    expect(() => parseFaultRates(['ok=0.1'])).toThrow(/unknown kind "ok"/);
    expect(() => parseFaultRates(['429'])).toThrow(/expected kind=rate/);
    expect(() => parseFaultRates(['429=1.5'])).toThrow(/from 0 to 1/);
    expect(() => parseFaultRates(['429=abc'])).toThrow(/from 0 to 1/);
    expect(() => parseFaultRates(['429=0.1', '429=0.2'])).toThrow(/twice/);
    expect(() => parseFaultRates(['429=0.6', '500=0.6'])).toThrow(/more than 1/);
  });
});
