/**
 * The sandbox HTTP server (node:http, 127.0.0.1 only): the Canvas token and Letter endpoints
 * with fault injection, FHIR reads from a directory (fhir.ts), the web inbox and letter routes
 * (inbox.ts), a small JSON control API under /sandbox/ (control.ts), and optionally a folder
 * keeping letters (store.ts).
 * It never writes to stdout/stderr, so letter content and tokens are never logged.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { handleControl } from './control.js';
import { openFhir } from './fhir.js';
import { TooLarge, readBody, refuseReason, safeDecode, sendJson } from './http.js';
import { handleInbox } from './inbox.js';
import { openStore } from './store.js';
import { FaultPicker, UNAUTHENTICATED_TEXT, faultAnswer, operationOutcome, validateFaultConfig } from './faults.js';
import {
  FAULT_KINDS,
  type FaultConfig,
  type FaultKind,
  type FhirReadStats,
  type ReceivedLetter,
  type Sandbox,
  type SandboxOptions,
  type SandboxStats,
} from './types.js';

export const TOKEN_PATH = '/auth/token/';
export const LETTER_PATH = '/core/api/letter/v1/Letter';
const LETTER_FIELDS = ['patientKey', 'providerKey', 'practiceLocationKey', 'content'] as const;
const LETTER_BODY_LIMIT = 10 * 1024 * 1024;
const TOKEN_BODY_LIMIT = 64 * 1024;

function emptyStats(): Omit<SandboxStats, keyof FhirReadStats> {
  const outcomes = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  return { tokenRequests: 0, tokensIssued: 0, letterRequests: 0, inFlight: 0, maxInFlight: 0, outcomes, startTimes: [] };
}

/** Start a sandbox on 127.0.0.1 (port 0 = any free port). */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const { port = 0, clientId = 'sandbox-client', clientSecret = 'sandbox-secret', seed = 1, store: storeDir, directory, ...faultOptions } = opts;
  const host = (faultOptions as { host?: unknown }).host;
  if (host !== undefined) {
    if (host !== '127.0.0.1' && host !== 'localhost') throw new Error('the sandbox listens on 127.0.0.1 only; it cannot listen on another host');
    delete (faultOptions as { host?: unknown }).host;
  }
  let faults: FaultConfig = validateFaultConfig(faultOptions);
  const picker = new FaultPicker(seed);
  const fhir = openFhir(directory, { tokenValid, sleep: (ms) => sleep(ms), faults: () => faults });
  const tokens = new Map<string, number>(); // token -> expiry (ms since epoch)
  const store = storeDir === undefined ? undefined : openStore(storeDir);
  const letters: ReceivedLetter[] = store ? [...store.loaded] : [];
  let stats = emptyStats();
  let inFlight = 0; // live count: reset() does not forget requests still being handled
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve();
      const t = setTimeout(() => (timers.delete(t), resolve()), ms);
      timers.add(t);
    });

  function tokenValid(header: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const expiry = m?.[1] ? tokens.get(m[1]) : undefined;
    return expiry !== undefined && Date.now() < expiry;
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.tokenRequests++;
    if (req.method !== 'POST') {
      return sendJson(res, 405, { error: 'invalid_request', error_description: 'use POST' }, { Allow: 'POST' });
    }
    const body = await readBody(req, TOKEN_BODY_LIMIT);
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'body must be application/x-www-form-urlencoded' });
    }
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic?.[1] && id === null) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      id = safeDecode(decoded.slice(0, colon));
      secret = safeDecode(decoded.slice(colon + 1));
    }
    if (id !== clientId || secret !== clientSecret) return sendJson(res, 401, { error: 'invalid_client' });
    const now = Date.now();
    for (const [t, expiry] of tokens) if (expiry <= now) tokens.delete(t);
    const lifetime = faults.tokenLifetimeSeconds ?? 3600;
    const token = randomBytes(32).toString('base64url');
    tokens.set(token, now + lifetime * 1000);
    stats.tokensIssued++;
    sendJson(
      res,
      200,
      { access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: form.get('scope') ?? 'system/*.*' },
      { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
    );
  }

  async function handleLetter(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      return sendJson(res, 405, operationOutcome('not-supported', 'Method not allowed.'), { Allow: 'POST' });
    }
    stats.letterRequests++;
    stats.startTimes.push(Date.now());
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    const body = await readBody(req, LETTER_BODY_LIMIT);

    // Decide the answer first, then wait the latency, then act: every outcome gets the latency.
    if (!tokenValid(req.headers.authorization)) {
      stats.outcomes['401']++;
      await sleep(faults.latencyMs ?? 0);
      return sendJson(res, 401, operationOutcome('login', UNAUTHENTICATED_TEXT), { 'WWW-Authenticate': 'Bearer' });
    }
    if (!/^application\/(fhir\+)?json\b/i.test(req.headers['content-type'] ?? '')) {
      await sleep(faults.latencyMs ?? 0);
      return sendJson(res, 415, operationOutcome('not-supported', 'Content-Type must be application/json.'));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      await sleep(faults.latencyMs ?? 0);
      return sendJson(res, 400, operationOutcome('invalid', 'Request body is not valid JSON.'));
    }
    const record = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    const missing = LETTER_FIELDS.filter((f) => typeof record[f] !== 'string' || record[f].trim() === '');
    if (missing.length > 0) {
      await sleep(faults.latencyMs ?? 0);
      const outcome = operationOutcome('invalid', '');
      outcome.issue = missing.map((f) => ({ severity: 'error', code: 'invalid', details: { text: `${f}: this field is required and must be a non-empty string.` } }));
      return sendJson(res, 400, outcome);
    }
    const fields = record as Record<(typeof LETTER_FIELDS)[number], string>;
    const kind = picker.next(faults.rates);
    stats.outcomes[kind]++;
    await sleep(faults.latencyMs ?? 0);

    if (kind === 'ok' || kind === 'reset' || kind === 'hang') {
      const id = randomBytes(16).toString('hex');
      const { patientKey, providerKey, practiceLocationKey, content } = fields;
      const letter = { id, receivedAt: new Date().toISOString(), patientKey, providerKey, practiceLocationKey, content, size: Buffer.byteLength(content) };
      store?.save(letter); // before answering: a created letter survives a restart
      letters.push(letter);
      if (kind === 'reset') {
        const socket = req.socket as Socket & { resetAndDestroy?: () => void };
        return void (socket.resetAndDestroy ? socket.resetAndDestroy() : socket.destroy());
      }
      if (kind === 'hang') return; // never answer: the socket stays open until the client gives up or close()
      const mode = faults.responseBody ?? 'json';
      if (mode === 'json') return sendJson(res, 201, { letterKey: id });
      if (mode === 'empty') return void res.writeHead(201, { 'Content-Length': 0 }).end();
      const text = `Letter ${id} created.`;
      return void res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
    }
    const answer = faultAnswer(kind, fields.patientKey, faults.retryAfter ?? '1');
    sendJson(res, answer.status, answer.body, answer.headers);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = refuseReason(req, bound);
    if (refused) return sendJson(res, 403, operationOutcome('forbidden', refused));
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const path = url.pathname;
    if (path === TOKEN_PATH || path === '/auth/token') return handleToken(req, res);
    if (path === LETTER_PATH || path === `${LETTER_PATH}/`) return handleLetter(req, res);
    if (fhir.owns(path)) return fhir.handle(req, res, path);
    if (handleInbox(req, res, url, sandbox)) return;
    if (path.startsWith('/sandbox/') && (await handleControl(req, res, path, sandbox, () => faults))) return;
    sendJson(res, 404, operationOutcome('not-found', `No such endpoint: ${req.method ?? ''} ${path.slice(0, 200)}`));
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof TooLarge && !res.headersSent) {
        return sendJson(res, 413, operationOutcome('too-costly', 'Request body too large.'), { Connection: 'close' });
      }
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, operationOutcome('exception', 'Sandbox internal error.'));
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  // Requests are only routed from the event loop, after this synchronous continuation has run.
  const sandbox: Sandbox = {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    get letters() {
      return letters;
    },
    store: store && { dir: store.dir, loaded: store.loaded.length, skipped: store.skipped },
    directory: fhir.directory,
    clearLetters() {
      letters.length = 0;
      store?.clear();
    },
    stats: () => ({ ...stats, inFlight, outcomes: { ...stats.outcomes }, startTimes: [...stats.startTimes], ...fhir.stats() }),
    setFaults(f) {
      faults = { ...faults, ...validateFaultConfig(f) };
    },
    script: (...kinds) => picker.script(kinds),
    scriptFhir: (...kinds) => fhir.script(kinds),
    revokeTokens: () => tokens.clear(),
    reset() {
      sandbox.clearLetters();
      stats = emptyStats();
      stats.maxInFlight = inFlight;
      picker.reset();
      fhir.reset();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };

  return sandbox;
}
