/**
 * Test support for the lookup tests: a tiny local FHIR server (counting requests per path and
 * reads in flight), a Directory wired to it, and checks that messages stay clean.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect } from 'vitest';
import { HttpClient, TokenSource, type CanvasConfig } from '../src/canvas/index.js';
import { Directory, LookupError } from '../src/lookup/index.js';
import type { Keys } from '../src/types.js';

export const TOKEN = 'tok-SECRET-abc123';
export const PAT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const PROV = '312615f7e9f0be9e83548ccf420c766e';
export const LOC = '9ac29f61-fa25-44f3-b1c2-79f27f4a0f57';
export const ROW: Keys = { patientKey: PAT, providerKey: PROV, practiceLocationKey: LOC };

const patient = (id: string, given = 'Siobhán', family = "O'Brien") => ({
  resourceType: 'Patient', id, name: [{ use: 'official', given: [given], family }], birthDate: '1958-03-14',
  address: [{ use: 'home', line: ['12 Oak Street'], city: 'Eugene', state: 'OR', postalCode: '97401' }],
});
const practitioner = (id: string) => ({ resourceType: 'Practitioner', id, name: [{ use: 'official', given: ['Elena'], family: 'Vásquez', suffix: ['MD'] }] });
const location = (id: string) => ({
  resourceType: 'Location', id, name: 'Maple Grove Family Medicine', telecom: [{ system: 'phone', value: '(541) 555-0142', use: 'work' }],
  address: { line: ['1450 Alder Street', 'Suite 210'], city: 'Springfield', state: 'OR', postalCode: '97477' },
});
const RESOURCES: Record<string, (id: string) => object> = { Patient: patient, Practitioner: practitioner, Location: location };

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

export interface Server {
  base: string;
  /** Requests per path (token requests under /auth/token/). */
  hits: Map<string, number>;
  requests: number;
  inFlight: number;
  maxInFlight: number;
  headers: http.IncomingHttpHeaders[];
}

/** Closers of the servers and HTTP clients made so far; run after each test. */
export const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export const ok: Handler = (req, res) => {
  const [, type, id] = /^\/([A-Za-z]+)\/([^/]+)$/.exec(req.url ?? '') ?? [];
  const make = type ? RESOURCES[type] : undefined;
  if (!make || !id) return json(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
  json(res, 200, make(decodeURIComponent(id)));
};

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
  res.end(JSON.stringify(body));
}

export async function serve(handler: Handler, delayMs = 0): Promise<Server> {
  const s: Server = { base: '', hits: new Map(), requests: 0, inFlight: 0, maxInFlight: 0, headers: [] };
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    const n = (s.hits.get(path) ?? 0) + 1;
    s.hits.set(path, n);
    req.resume();
    req.on('end', () => {
      if (path.startsWith('/auth/token/')) return handler(req, res, n);
      s.requests++;
      s.headers.push(req.headers);
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      res.on('close', () => s.inFlight--);
      setTimeout(() => handler(req, res, n), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return s;
}

interface Setup {
  base: string;
  concurrency?: number;
  timeoutMs?: number;
  client?: boolean;
  sleeps?: number[];
}

export function directory(o: Setup): { dir: Directory; tokens: TokenSource } {
  const credentials: CanvasConfig['credentials'] = o.client ? { kind: 'client', clientId: 'cid', clientSecret: 'csecret-xyz' } : { kind: 'token', accessToken: TOKEN };
  const config: CanvasConfig = { baseUrl: new URL(o.base), credentials };
  const httpInstance = new HttpClient({ concurrency: o.concurrency ?? 4, timeoutMs: 5_000 });
  cleanups.push(() => httpInstance.close());
  const tokens = new TokenSource(httpInstance, config);
  const sleep = async (ms: number) => void o.sleeps?.push(ms);
  const dir = new Directory({ http: httpInstance, tokens, fhirBase: new URL(o.base), concurrency: o.concurrency ?? 4, timeoutMs: o.timeoutMs, sleep, random: () => 0.5 });
  return { dir, tokens };
}

/** Every text the lookup produced for people: problems and the error, if any. */
export function texts(dir: Directory, rows: Keys[], error?: unknown): string {
  const parts = rows.flatMap((r) => dir.problemsFor(r).map((p) => p.message));
  if (error instanceof Error) parts.push(error.message);
  return parts.join('\n');
}

export function expectClean(text: string): void {
  for (const secret of [TOKEN, 'csecret-xyz', PAT, PROV, LOC, 'Siobhán', "O'Brien", '1958-03-14', 'Oak Street']) expect(text).not.toContain(secret);
}

export async function loadError(dir: Directory, rows: Keys[]): Promise<LookupError> {
  const error = await dir.load(rows).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(LookupError);
  expect((error as LookupError).exitCode).toBe(2);
  return error as LookupError;
}
