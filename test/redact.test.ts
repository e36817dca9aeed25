/**
 * Secrets in server messages: every secret the run holds (client secret, every token issued,
 * the static token, proxy credentials), in every form it may travel in (as is, URL-encoded,
 * form-encoded, base64, base64url, Basic auth), is redacted before the message is shortened,
 * wherever it sits in the message. The token source registers them; the Canvas client and the
 * FHIR reader redact with it, reason phrases included.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MESSAGE_LIMIT, serverMessage } from '../src/canvas/responses.js';
import { CanvasClient, HttpClient, TokenSource, type CanvasConfig } from '../src/canvas/index.js';
import { REDACTED, Secrets, addProxyCredentials, secretsFromEnvironment } from '../src/canvas/redact.js';
import { PAT, ROW, directory, json, serve as serveFhir, texts } from './lookup-fhir-server.js';

const CLIENT_ID = 'client-id-7Hq2';
const CLIENT_SECRET = 'cs/Wk+9x=Qz%r~T!(p)*s3';
const TOKEN = 'tok_Aa1Bb2Cc3Dd4Ee5Ff6Gg';
const PROXY_PASSWORD = 'px pw:Zy@8#vQ';

/** Each form a secret may travel in, named for failure messages. */
function formsOf(secret: string, user?: string): Record<string, string> {
  const b64 = Buffer.from(secret).toString('base64');
  const forms: Record<string, string> = {
    raw: secret,
    encodeURIComponent: encodeURIComponent(secret),
    'form-urlencoded': new URLSearchParams({ s: secret }).toString().slice(2),
    'lower-case percent': encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    base64: b64,
    base64url: Buffer.from(secret).toString('base64url'),
  };
  if (user !== undefined) forms['Basic'] = `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
  return forms;
}

/** Fails when any run of 4 characters of `form` is left in `text` (the redaction marker set aside). */
function expectNoRun(text: string, form: string, label: string): void {
  const left = text.split(REDACTED).join('\u0001');
  for (let i = 0; i + 4 <= form.length; i++) {
    const run = form.slice(i, i + 4);
    if (form.startsWith('Basic ') && i < 6) continue; // the word "Basic" is not the secret
    expect(left.includes(run), `${label}: "${run}" survived in ${JSON.stringify(left)}`).toBe(false);
  }
}

/** A registry as a run with client credentials holds it after issuing TOKEN. */
function runSecrets(): Secrets {
  const s = new Secrets();
  s.addCredentials(CLIENT_ID, CLIENT_SECRET);
  s.add(TOKEN);
  addProxyCredentials(s, `http://proxyuser:${encodeURIComponent(PROXY_PASSWORD)}@proxy.example:3128`);
  return s;
}

const FILLER = '.'.repeat(700); // no secret or form holds a '.'

describe('serverMessage redacts before it shortens', () => {
  const secrets = runSecrets();
  const cases: [string, string, string | undefined][] = [
    ['client secret', CLIENT_SECRET, CLIENT_ID],
    ['token', TOKEN, undefined],
    ['proxy password', PROXY_PASSWORD, 'proxyuser'],
  ];
  for (const [name, secret, user] of cases) {
    for (const [formName, form] of Object.entries(formsOf(secret, user))) {
      it(`leaves no 4 characters of the ${name} (${formName}) at any position of a long message`, () => {
        for (const length of [MESSAGE_LIMIT - 20, MESSAGE_LIMIT, MESSAGE_LIMIT + 40, 620]) {
          for (let at = 0; at <= Math.min(600, length); at += 3) {
            const text = FILLER.slice(0, at) + form + FILLER.slice(0, Math.max(0, length - at - form.length));
            const body = JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', details: { text } }] });
            const out = serverMessage(body, 400, undefined, secrets);
            expect(out.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
            expectNoRun(out, form, `${formName} at ${at} of ${length}`);
            expectNoRun(out, secret, `${formName} at ${at} of ${length} (raw)`);
          }
        }
      });
    }
  }

  it('an OperationOutcome with about 280 characters before the token keeps none of it (the reported case)', () => {
    const text = `${'x'.repeat(280)} Bearer ${TOKEN} was rejected`;
    const out = serverMessage(JSON.stringify({ issue: [{ details: { text } }] }), 400, undefined, secrets);
    expectNoRun(out, TOKEN, 'token');
  });

  it('redacts a reason phrase (HTTP status message) carrying a secret', () => {
    const out = serverMessage('', 400, `Bad client secret ${CLIENT_SECRET} for ${TOKEN}`, secrets);
    expect(out).toBe(`Bad client secret ${REDACTED} for ${REDACTED}`);
  });

  it('redacts a secret that a line break splits across the collapsed whitespace', () => {
    const multi = new Secrets().add('abc def-9876');
    expect(serverMessage(JSON.stringify({ message: 'x abc\ndef-9876 y' }), 400, undefined, multi)).toBe(`x ${REDACTED} y`);
  });
});

describe('base64 at any alignment', () => {
  it('removes every base64 character that depends only on the secret, whatever comes before it', () => {
    const secrets = new Secrets().add(CLIENT_SECRET); // the user name is not known here
    for (let lead = 0; lead < 6; lead++) {
      for (const tail of ['', 'q', 'qr', 'qrs']) {
        const bytes = Buffer.from('u'.repeat(lead) + CLIENT_SECRET + tail);
        for (const encoding of ['base64', 'base64url'] as const) {
          const encoded = bytes.toString(encoding);
          const out = secrets.redact(`auth ${encoded} end`);
          const first = Math.ceil((lead * 8) / 6);
          const last = Math.floor(((lead + CLIENT_SECRET.length) * 8) / 6); // exclusive
          const core = encoded.slice(first, last);
          expectNoRun(out, core, `${encoding}, ${lead} bytes before, ${tail.length} after`);
        }
      }
    }
  });
});

describe('Secrets', () => {
  it('reads proxy credentials from HTTPS_PROXY, HTTP_PROXY and their lower-case forms', () => {
    const env = {
      HTTPS_PROXY: 'http://alice:Sup3r%2Fsecret@proxy:8080',
      http_proxy: 'http://only-a-token-user@proxy:8080',
      HTTP_PROXY: 'not a url at all',
    };
    const s = secretsFromEnvironment(env);
    expect(s.redact('a Sup3r/secret b Sup3r%2Fsecret c only-a-token-user d')).toBe(`a ${REDACTED} b ${REDACTED} c ${REDACTED} d`);
    expect(s.redact(`Proxy-Authorization: Basic ${Buffer.from('alice:Sup3r/secret').toString('base64')}`)).toBe(`Proxy-Authorization: Basic ${REDACTED}`);
    expect(secretsFromEnvironment({}).size).toBe(0);
  });

  it('ignores empty and very short values, which would match ordinary words', () => {
    const s = new Secrets().add('').add('ab').add(undefined);
    expect(s.size).toBe(0);
    expect(s.redact('ab abc')).toBe('ab abc');
  });
});

// --- through the token source and the clients, against local servers ---

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function clientFor(base: string): { client: CanvasClient; tokens: TokenSource } {
  const config: CanvasConfig = { baseUrl: new URL(base), credentials: { kind: 'client', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } };
  const httpInstance = new HttpClient({ concurrency: 2, timeoutMs: 5_000 });
  const tokens = new TokenSource(httpInstance, config, { secrets: new Secrets() });
  const client = new CanvasClient({ http: httpInstance, config, tokens });
  cleanups.push(() => client.close());
  return { client, tokens };
}

const LETTER = { patientKey: 'pat-1', providerKey: 'prov-1', practiceLocationKey: 'loc-1', content: '<p>x</p>' };

describe('the Canvas client redacts every secret of the run', () => {
  it('the client secret, the first and the renewed token, in the body and in the reason phrase', async () => {
    let issued = 0;
    const base = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url?.startsWith('/auth/token/')) {
          issued++;
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ access_token: `${TOKEN}-${issued}`, expires_in: 3600 }));
        }
        const all = [CLIENT_SECRET, ...Array.from({ length: issued }, (_, i) => `${TOKEN}-${i + 1}`)];
        const text = `${'y'.repeat(280)} ${all.join(' ')} ${encodeURIComponent(CLIENT_SECRET)} ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
        res.writeHead(422, `Unprocessable ${TOKEN}-${issued}`, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', details: { text } }] }));
      });
    });
    const { client, tokens } = clientFor(base);
    const first = await tokens.token();
    const a = await client.createLetter(LETTER, first);
    const renewed = await tokens.renew(first);
    expect(renewed).toBe(`${TOKEN}-2`);
    const b = await client.createLetter(LETTER, renewed);
    for (const outcome of [a, b]) {
      expect(outcome.kind).toBe('rejected');
      const message = outcome.kind === 'rejected' ? outcome.message : '';
      for (const secret of [CLIENT_SECRET, `${TOKEN}-1`, `${TOKEN}-2`, encodeURIComponent(CLIENT_SECRET)]) expectNoRun(message, secret, 'outcome');
    }
  });

  it('a reason phrase alone (empty body) carrying the token is redacted', async () => {
    const base = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url?.startsWith('/auth/token/')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ access_token: TOKEN }));
        }
        res.writeHead(403, `Forbidden for ${TOKEN} and ${CLIENT_SECRET}`);
        res.end();
      });
    });
    const { client, tokens } = clientFor(base);
    const out = await client.createLetter(LETTER, await tokens.token());
    expect(out).toEqual({ kind: 'forbidden', httpStatus: 403, message: `Forbidden for ${REDACTED} and ${REDACTED}` });
  });
});

describe('the FHIR reader redacts every secret of the run', () => {
  it('an OperationOutcome carrying the client secret and the token, past the shortening limit, leaves neither', async () => {
    const s = await serveFhir((req, res) => {
      if (req.url?.startsWith('/auth/token/')) return json(res, 200, { access_token: TOKEN, expires_in: 3600 });
      json(res, 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', details: { text: `${'z'.repeat(285)} csecret-xyz ${TOKEN} ${PAT}` } }] });
    });
    const { dir } = directory({ base: s.base, client: true });
    await dir.load([ROW]);
    const said = texts(dir, [ROW]);
    expect(said).toContain('HTTP 400');
    for (const secret of ['csecret-xyz', TOKEN, PAT]) expectNoRun(said, secret, 'lookup problem');
  });
});
