/**
 * The sandbox's FHIR R4 reads: GET /Patient/<id>, /Practitioner/<id> and /Location/<id>, served
 * from a directory (a JSON file shaped like samples/sandbox-directory.json, or that object) behind
 * the same bearer tokens as the Letter endpoint, with their own fault script (scriptFhir) and read
 * counts. Each resource is checked and serialized once at start: later changes to a given object
 * do not show, and a directory that is not one fails at start with an error naming the file.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNAUTHENTICATED_TEXT, faultAnswer, operationOutcome } from './faults.js';
import { wrongMethod } from './http.js';
import {
  FHIR_FAULT_KINDS,
  FHIR_RESOURCE_TYPES,
  type DirectoryData,
  type FaultConfig,
  type FhirFaultKind,
  type FhirReadStats,
  type FhirResourceType,
  type SandboxDirectory,
} from './types.js';

/** The bundled sample directory: ../../samples from src/sandbox/ (vitest) and from dist/sandbox/ (built). */
export const DEFAULT_DIRECTORY = fileURLToPath(new URL('../../samples/sandbox-directory.json', import.meta.url));

/** The directory given to the sandbox cannot be used (unreadable, not JSON, or not a directory). */
export class SandboxDirectoryError extends Error {}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const READ_PATH = /^\/(Patient|Practitioner|Location)\/([^/]+)\/?$/;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type Bodies = Record<FhirResourceType, Map<string, string>>;

export function isFhirFaultKind(kind: unknown): kind is FhirFaultKind {
  return typeof kind === 'string' && (FHIR_FAULT_KINDS as readonly string[]).includes(kind);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check a parsed directory and serialize each resource (its id set to its key when missing). */
function checkDirectory(data: unknown, where: string): Bodies {
  const fail = (why: string) => new SandboxDirectoryError(`sandbox directory ${where}: ${why}`);
  if (!isObject(data)) throw fail('must be a JSON object like {"Patient": {"<id>": {...}}, "Practitioner": {...}, "Location": {...}}');
  const bodies: Bodies = { Patient: new Map(), Practitioner: new Map(), Location: new Map() };
  for (const [type, byId] of Object.entries(data)) {
    if (!(FHIR_RESOURCE_TYPES as readonly string[]).includes(type)) {
      throw fail(`unknown resource type "${type.slice(0, 60)}": use Patient, Practitioner or Location`);
    }
    if (byId === undefined) continue;
    if (!isObject(byId)) throw fail(`${type} must be an object of "<id>": resource`);
    for (const [id, resource] of Object.entries(byId)) {
      const at = `${type}/${id.slice(0, 80)}`;
      if (!FHIR_ID.test(id) || id === '.' || id === '..') throw fail(`${at}: the key is not a FHIR id (1-64 of A-Z a-z 0-9 - .)`);
      if (!isObject(resource)) throw fail(`${at}: must be a resource object`);
      if (resource.resourceType !== type) throw fail(`${at}: resourceType must be "${type}"`);
      if (resource.id !== undefined && resource.id !== id) throw fail(`${at}: its "id" differs from its key`);
      bodies[type as FhirResourceType].set(id, JSON.stringify({ ...resource, id }));
    }
  }
  return bodies;
}

function readDirectoryFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : code ?? (err as Error).message;
    throw new SandboxDirectoryError(`cannot read sandbox directory ${file}: ${why}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new SandboxDirectoryError(`sandbox directory ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Load the directory option: a file path, the object, false (none) or undefined (the bundled sample). */
export function loadDirectory(input: string | DirectoryData | false | undefined): { info: SandboxDirectory; bodies: Bodies } {
  let source: string | null = null;
  let bodies: Bodies;
  if (input === false) bodies = checkDirectory({}, '');
  else if (input === undefined || typeof input === 'string') {
    if (input !== undefined && input.trim() === '') throw new SandboxDirectoryError('sandbox directory: the file name is empty');
    source = input === undefined ? DEFAULT_DIRECTORY : resolve(input);
    bodies = checkDirectory(readDirectoryFile(source), source);
  } else bodies = checkDirectory(input, '(object)');
  const counts = { Patient: bodies.Patient.size, Practitioner: bodies.Practitioner.size, Location: bodies.Location.size };
  return { info: { source, counts }, bodies };
}

function sendFhir(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

export interface FhirDeps {
  tokenValid(authorization: string | undefined): boolean;
  /** Resolves after ms (timers cleared by close()). */
  sleep(ms: number): Promise<void>;
  faults(): FaultConfig;
}

export interface FhirEndpoint {
  readonly directory: SandboxDirectory;
  /** True when the path is a FHIR read this endpoint answers (any method). */
  owns(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  script(kinds: FhirFaultKind[]): void;
  stats(): FhirReadStats;
  /** Forget the read counts and the script. */
  reset(): void;
}

export function openFhir(input: string | DirectoryData | false | undefined, deps: FhirDeps): FhirEndpoint {
  const { info, bodies } = loadDirectory(input);
  let queue: FhirFaultKind[] = [];
  let reads = 0;
  let byType: Record<FhirResourceType, number> = { Patient: 0, Practitioner: 0, Location: 0 };
  let perKey = new Map<string, number>();

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const m = READ_PATH.exec(path);
    if (!m) return;
    if (req.method !== 'GET') return void wrongMethod(res, 'GET');
    const type = m[1] as FhirResourceType;
    let id = m[2] ?? '';
    try {
      id = decodeURIComponent(id);
    } catch {
      // not percent-encoded text: kept as it is, so it is simply not known
    }
    reads++;
    byType[type]++;
    perKey.set(`${type}/${id}`, (perKey.get(`${type}/${id}`) ?? 0) + 1);

    // As for letters: decide the answer, wait the latency, then act.
    const kind: FhirFaultKind = deps.tokenValid(req.headers.authorization) ? (queue.shift() ?? 'ok') : '401';
    await deps.sleep(deps.faults().latencyMs ?? 0);
    const body = bodies[type].get(id);
    switch (kind) {
      case 'ok':
      case '404':
        if (kind === 'ok' && body !== undefined) return sendFhir(res, 200, body);
        return sendFhir(res, 404, JSON.stringify(operationOutcome('not-found', `Resource ${type}/${id.slice(0, 100)} is not known`)));
      case 'hang':
        return; // never answer: the socket stays open until the client gives up or close()
      case 'reset': {
        const socket = req.socket as Socket & { resetAndDestroy?: () => void };
        return void (socket.resetAndDestroy ? socket.resetAndDestroy() : socket.destroy());
      }
      case '401':
        return sendFhir(res, 401, JSON.stringify(operationOutcome('login', UNAUTHENTICATED_TEXT)), { 'WWW-Authenticate': 'Bearer' });
      default: {
        const answer = faultAnswer(kind, '', deps.faults().retryAfter ?? '1');
        return sendFhir(res, answer.status, JSON.stringify(answer.body), answer.headers);
      }
    }
  }

  return {
    directory: info,
    owns: (path) => READ_PATH.test(path),
    handle,
    script(kinds) {
      for (const k of kinds) if (!isFhirFaultKind(k)) throw new Error(`unknown FHIR fault kind "${String(k)}": use one of ${FHIR_FAULT_KINDS.join(', ')}`);
      queue.push(...kinds);
    },
    stats: () => ({ fhirReads: reads, fhirReadsByType: { ...byType }, fhirReadCounts: Object.fromEntries(perKey) }),
    reset() {
      queue = [];
      reads = 0;
      byType = { Patient: 0, Practitioner: 0, Location: 0 };
      perKey = new Map();
    },
  };
}
