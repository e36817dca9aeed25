/** The sandbox inbox without a browser: page, letter list and raw routes, --store, faults over HTTP,
 * loopback guards and the CLI's Inbox line. Port 0 and 127.0.0.1 only. */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LETTER_PATH, TOKEN_PATH, startSandbox, type Sandbox, type SandboxOptions } from '../src/sandbox/index.js';
import { trackedSandboxes } from './support/sandbox.js';
import { textOf } from '../src/html-text.js';
import { subjectOf, templateOf } from '../src/sandbox/summary.js';
import { startCli, tempDir, waitFor } from './support/cli.js';

const PAGE_CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self'; img-src data:";
const LETTER_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";
const TEMPLATED =
  '<!doctype html><html><head><meta charset="utf-8"><meta content="jury-duty" name="canvas-letters-template">' +
  '<title>Jury &amp; duty\n excuse</title></head><body><p>Dear Clerk, Jos&eacute; N&#250;&#xf1;ez is my patient.</p></body></html>';
const sandbox = trackedSandboxes();

async function issue(sb: Sandbox): Promise<{ access_token: string; expires_in: number }> {
  const body = 'grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret';
  const res = await fetch(sb.url + TOKEN_PATH, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  return (await res.json()) as { access_token: string; expires_in: number };
}
const token = async (sb: Sandbox): Promise<string> => (await issue(sb)).access_token;

function post(sb: Sandbox, bearer: string, letter: Partial<Record<'patientKey' | 'content', string>> = {}): Promise<Response> {
  const body = { patientKey: 'pat-1', providerKey: 'prov-1', practiceLocationKey: 'loc-1', content: '<p>Dear Ann</p>', ...letter };
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` };
  return fetch(sb.url + LETTER_PATH, { method: 'POST', headers, body: JSON.stringify(body) });
}

type Listed = { id: string; patientKey: string; template: string | null; subject: string | null; content?: string };
const list = async (sb: Sandbox, query = ''): Promise<Listed[]> => (await (await fetch(`${sb.url}/sandbox/letters${query}`)).json()) as Listed[];

/** node:http, so the Host and Origin headers can be anything. */
const raw = (sb: Sandbox, method: string, path: string, headers: Record<string, string>): Promise<number> =>
  new Promise((resolve, reject) => {
    request(`${sb.url}${path}`, { method, headers }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)))
      .on('error', reject)
      .end();
  });

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('sandbox inbox page', () => {
  it('serves a self-contained page at / with its CSP, and no data or inline handlers in it', async () => {
    const sb = await sandbox();
    await post(sb, await token(sb), { patientKey: '<script>alert(1)</script>' });
    const res = await fetch(`${sb.url}/`);
    expect(res.status).toBe(200);
    expect(Object.fromEntries(res.headers)).toMatchObject({
      'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store',
    });
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<iframe id="frame" class="paper" sandbox=""');
    expect(html).not.toContain('alert(1)'); // the page carries no letter data: the script fetches it
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).not.toContain('innerHTML');
    expect((await fetch(`${sb.url}/`, { method: 'POST' })).status).toBe(405);
  });
});

describe('sandbox letter routes', () => {
  it('lists newest first with template and subject when the letter carries them, else null', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    await post(sb, t, { patientKey: 'plain', content: '<p>No head at all</p>' });
    await post(sb, t, { patientKey: 'templated', content: TEMPLATED });
    const [newest, oldest] = await list(sb);
    expect(newest).toMatchObject({ patientKey: 'templated', template: 'jury-duty', subject: 'Jury & duty excuse' });
    expect(newest).not.toHaveProperty('content');
    expect(oldest).toMatchObject({ patientKey: 'plain', template: null, subject: null });
    const one = (await (await fetch(`${sb.url}/sandbox/letters/${newest!.id}`)).json()) as Listed;
    expect(one).toMatchObject({ template: 'jury-duty', subject: 'Jury & duty excuse', content: TEMPLATED });
  });

  it('reads the template meta and title however they are written, and never guesses', () => {
    expect(templateOf(`<META NAME='canvas-letters-template' CONTENT='school-note'>`)).toBe('school-note');
    expect(templateOf('<meta name=canvas-letters-template content=a&amp;b>')).toBe('a&b');
    expect(templateOf(`<meta content="a > b" data-x='>' name="canvas-letters-template">`)).toBe('a > b');
    expect(templateOf('<meta name="description" content="jury-duty"><title>jury-duty</title>')).toBeNull();
    expect(subjectOf('<title>  </title>')).toBeNull();
    expect(subjectOf('<title>&lt;b&gt;Hi&#39;</title>')).toBe("<b>Hi'");
    expect(textOf('<head><title>T</title><style>p{}</style></head><p>A&nbsp;<b>B</b></p><!-- c -->')).toBe('A B');
  });

  it('searches keys, subject and letter text with ?q= (case and accents ignored), with limit and a total', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    for (let i = 0; i < 3; i++) await post(sb, t, { patientKey: `plain-${i}` });
    await post(sb, t, { patientKey: 'templated', content: TEMPLATED });
    const [hit] = (await list(sb, '?q=NUNEZ')) as (Listed & { match: { text: string; start: number; end: number } })[];
    expect(hit).toMatchObject({ patientKey: 'templated', match: { text: 'Dear Clerk, José Núñez is my patient.' } });
    expect(hit!.match.text.slice(hit!.match.start, hit!.match.end)).toBe('Núñez');
    expect((await list(sb, '?q=templated'))[0]).toMatchObject({ match: null }); // a key hit has no text excerpt
    expect(await list(sb)).not.toHaveProperty('0.match');
    expect((await list(sb, '?q=jury%20clerk')).map((l) => l.patientKey)).toEqual(['templated']);
    expect((await list(sb, '?q=jury%20nobody')).length).toBe(0);
    expect((await list(sb, '?q=plain-1')).map((l) => l.patientKey)).toEqual(['plain-1']);
    expect((await list(sb, '?q=head')).length).toBe(0); // markup is not text
    const limited = await fetch(`${sb.url}/sandbox/letters?q=plain&limit=2`);
    expect(limited.headers.get('x-total-count')).toBe('3');
    expect(((await limited.json()) as Listed[]).map((l) => l.patientKey)).toEqual(['plain-2', 'plain-1']);
    expect((await fetch(`${sb.url}/sandbox/letters?limit=-1`)).status).toBe(400);
  });

  it('answers 304 to If-None-Match until the letters change', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    await post(sb, t);
    const first = await fetch(`${sb.url}/sandbox/letters`);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    expect((await fetch(`${sb.url}/sandbox/letters`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect((await fetch(`${sb.url}/sandbox/letters?q=x`, { headers: { 'If-None-Match': etag } })).status).toBe(200);
    await post(sb, t);
    expect((await fetch(`${sb.url}/sandbox/letters`, { headers: { 'If-None-Match': etag } })).status).toBe(200);
  });

  it('serves the raw letter at /html as text/html under the strict letter CSP', async () => {
    const sb = await sandbox();
    const content = '<html><body><p>Dear <b>Ann</b></p><script>alert(1)</script></body></html>';
    await post(sb, await token(sb), { content });
    const [letter] = await list(sb);
    const res = await fetch(`${sb.url}/sandbox/letters/${letter!.id}/html`);
    expect(res.status).toBe(200);
    expect(Object.fromEntries(res.headers)).toMatchObject({
      'content-type': 'text/html; charset=utf-8', 'content-security-policy': LETTER_CSP, 'x-content-type-options': 'nosniff',
    });
    expect(await res.text()).toBe(content);
    expect((await fetch(`${sb.url}/sandbox/letters/${'0'.repeat(32)}/html`)).status).toBe(404);
    expect((await fetch(`${sb.url}/sandbox/letters/${letter!.id}/html`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('sandbox --store', () => {
  it('keeps letters across restarts in 0600 files in a 0700 folder, and DELETE empties it', async () => {
    const dir = join(tempDir('cl-store-'), 'nested', 'store');
    let sb = await sandbox({ store: dir });
    expect(mode(dir)).toBe(0o700);
    let t = await token(sb);
    for (const patientKey of ['a', 'b', 'c']) expect((await post(sb, t, { patientKey, content: TEMPLATED })).status).toBe(201);
    const before = await list(sb);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(before.map((l) => `${l.id}.json`).sort());
    for (const f of files) expect(mode(join(dir, f))).toBe(0o600);
    await sb.close();

    sb = await sandbox({ store: dir });
    expect(sb.store).toMatchObject({ dir, loaded: 3, skipped: [] });
    expect(await list(sb)).toEqual(before);
    expect(sb.letters.map((l) => l.patientKey)).toEqual(['a', 'b', 'c']);
    expect(sb.letters[0]).toMatchObject({ content: TEMPLATED, size: Buffer.byteLength(TEMPLATED) });
    t = await token(sb);
    await post(sb, t, { patientKey: 'd' });
    expect(readdirSync(dir)).toHaveLength(4);
    expect((await fetch(`${sb.url}/sandbox/letters`, { method: 'DELETE' })).status).toBe(204);
    expect(readdirSync(dir)).toEqual([]);
    expect(mode(dir)).toBe(0o700);
    await sb.close();

    sb = await sandbox({ store: dir });
    expect(sb.letters).toHaveLength(0);
  });

  it('keeps the arrival order of letters received in the same millisecond across a restart (their files hold a sequence number)', async () => {
    const dir = join(tempDir('cl-store-'), 'store');
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700);
    const at = '2026-12-04T10:00:00.000Z';
    const stored = (id: string, seq: number) =>
      writeFileSync(join(dir, `${id}.json`), JSON.stringify({ id, receivedAt: at, seq, patientKey: id.slice(0, 1), providerKey: 'q', practiceLocationKey: 'r', content: '<p>x</p>' }));
    stored('c'.repeat(32), 1);
    stored('a'.repeat(32), 2);
    stored('b'.repeat(32), 3);
    let sb = await sandbox({ store: dir });
    expect(sb.letters.map((l) => l.patientKey)).toEqual(['c', 'a', 'b']);
    const t = await token(sb);
    expect((await post(sb, t, { patientKey: 'd' })).status).toBe(201);
    const seq = (JSON.parse(readFileSync(join(dir, `${sb.letters[3]!.id}.json`), 'utf8')) as { seq: number }).seq;
    expect(seq).toBe(4);
    await sb.close();
    sb = await sandbox({ store: dir });
    expect(sb.letters.map((l) => l.patientKey)).toEqual(['c', 'a', 'b', 'd']);
  });

  it('loads a stored approvalId only when it is a UUID (a file edited by hand cannot make the inbox show anything else)', async () => {
    const dir = join(tempDir('cl-store-'), 'store');
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700);
    const stored = (id: string, approvalId: string) =>
      writeFileSync(join(dir, `${id}.json`), JSON.stringify({ id, receivedAt: '2026-12-04T10:00:00.000Z', patientKey: 'p', providerKey: 'q', practiceLocationKey: 'r', approvalId, content: '<p>x</p>' }));
    const uuid = '3b2c1d4e-5f60-4718-9a2b-3c4d5e6f7a8b';
    stored('a'.repeat(32), uuid);
    stored('b'.repeat(32), 'not-a-uuid');
    const sb = await sandbox({ store: dir });
    expect(sb.letters.map((l) => [l.id, l.approvalId])).toEqual([['a'.repeat(32), uuid], ['b'.repeat(32), undefined]]);
  });

  it('skips files it cannot read as letters, and refuses a folder other users can open', async () => {
    const dir = join(tempDir('cl-store-'), 'store');
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700);
    writeFileSync(join(dir, `${'a'.repeat(32)}.json`), '{not json');
    writeFileSync(join(dir, `${'b'.repeat(32)}.json`), JSON.stringify({ id: 'c'.repeat(32) }));
    writeFileSync(join(dir, 'notes.txt'), 'kept');
    const sb = await sandbox({ store: dir });
    expect(sb.letters).toHaveLength(0);
    expect(sb.store?.skipped).toEqual([`${'a'.repeat(32)}.json: not valid JSON`, `${'b'.repeat(32)}.json: id does not match the file name`]);
    sb.clearLetters();
    expect(readdirSync(dir)).toEqual(['notes.txt']); // only its own files are removed

    const loose = join(tempDir('cl-store-'), 'loose');
    mkdirSync(loose);
    chmodSync(loose, 0o755);
    await expect(startSandbox({ store: loose })).rejects.toThrow(/other users \(mode 0755\)/);
    writeFileSync(join(loose, '..', 'file'), '');
    await expect(startSandbox({ store: join(loose, '..', 'file') })).rejects.toThrow(/not a folder/);
    expect(existsSync(join(loose, '..', 'file'))).toBe(true);
  });
});

describe('sandbox faults over HTTP and loopback guards', () => {
  it('PUT /sandbox/faults changes latency, outcomes and token lifetime of later requests', async () => {
    const sb = await sandbox();
    const t = await token(sb);
    const body = JSON.stringify({ latencyMs: 150, rates: { '503': 1 }, tokenLifetimeSeconds: 42 });
    const put = await fetch(`${sb.url}/sandbox/faults`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body });
    expect(await put.json()).toEqual({ latencyMs: 150, rates: { '503': 1 }, tokenLifetimeSeconds: 42 });
    const started = Date.now();
    expect((await post(sb, t)).status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect((await issue(sb)).expires_in).toBe(42);
    expect(await (await fetch(`${sb.url}/sandbox/faults`)).json()).toMatchObject({ latencyMs: 150 });
  });

  it('refuses other Host names (DNS rebinding), changes from other origins, and any host but loopback', async () => {
    const sb = await sandbox();
    await post(sb, await token(sb));
    expect(await raw(sb, 'GET', '/sandbox/letters', { Host: 'evil.example' })).toBe(403);
    expect(await raw(sb, 'GET', '/', { Host: `evil.example:${sb.port}` })).toBe(403);
    expect(await raw(sb, 'GET', '/sandbox/letters', { Host: `localhost:${sb.port}` })).toBe(200);
    expect(await raw(sb, 'DELETE', '/sandbox/letters', { Origin: 'https://evil.example' })).toBe(403);
    expect(await raw(sb, 'POST', '/sandbox/reset', { 'Sec-Fetch-Site': 'cross-site' })).toBe(403);
    expect(sb.letters).toHaveLength(1);
    expect(await raw(sb, 'DELETE', '/sandbox/letters', { Origin: sb.url })).toBe(204);
    expect(sb.letters).toHaveLength(0);
    await expect(startSandbox({ host: '0.0.0.0' } as SandboxOptions)).rejects.toThrow(/listens on 127\.0\.0\.1 only/);
    expect(new URL((await sandbox({ host: '127.0.0.1' } as SandboxOptions)).url).hostname).toBe('127.0.0.1');
  });
});

describe('canvas-letters sandbox', () => {
  it('prints the env lines on stdout and the inbox URL on stderr', async () => {
    const store = join(tempDir('cl-store-'), 'store');
    const cli = startCli(['sandbox', '--port', '0', '--store', store]);
    let err = '';
    cli.child.stderr!.on('data', (d: string) => (err += d));
    await waitFor(() => err.includes('Inbox: '), 15_000);
    cli.child.kill('SIGINT');
    const { code, stdout, stderr } = await cli.done;
    expect(code).toBe(0);
    const url = /^CANVAS_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1];
    expect(url).toBeDefined();
    expect(stdout).not.toContain('Inbox');
    expect(stderr).toContain(`Inbox: ${url}/\n`);
    expect(stderr).toContain(`Store: ${store} (0 letters loaded)`);
    expect(mode(store)).toBe(0o700);
  });
});
