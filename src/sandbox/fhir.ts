/**
 * The sandbox's FHIR R4 reads, GET /Patient/<id>, /Practitioner/<id> and /Location/<id>, served
 * from a loaded directory (directory.ts) behind the same bearer tokens as the Letter endpoint,
 * with their own fault script (scriptFhir) and read counts.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { LoadedDirectory } from './directory.js';
import { UNAUTHENTICATED_TEXT, faultAnswer, operationOutcome } from './faults.js';
import type { Handler } from './router.js';
import {
  FHIR_FAULT_KINDS,
  type FaultConfig,
  type FhirFaultKind,
  type FhirReadStats,
  type FhirResourceType,
  type SandboxDirectory,
} from './types.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function isFhirFaultKind(kind: unknown): kind is FhirFaultKind {
  return typeof kind === 'string' && (FHIR_FAULT_KINDS as readonly string[]).includes(kind);
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

export interface FhirResource {
  readonly directory: SandboxDirectory;
  /** GET /{type}/{id}: count the read, pick its outcome (401 without a valid token, else the script, else ok), wait the latency, answer. */
  read: Handler;
  script(kinds: FhirFaultKind[]): void;
  stats(): FhirReadStats;
  /** Forget the read counts and the script. */
  reset(): void;
}

/** Answer a read as its picked kind says: the resource (or 404 when not known), a fault, a reset or no answer. */
function answerRead(kind: FhirFaultKind, type: FhirResourceType, id: string, body: string | undefined, res: ServerResponse, retryAfter: string): void {
  switch (kind) {
    case 'ok':
    case '404':
      if (kind === 'ok' && body !== undefined) return sendFhir(res, 200, body);
      return sendFhir(res, 404, JSON.stringify(operationOutcome('not-found', `Resource ${type}/${id.slice(0, 100)} is not known`)));
    case 'hang':
      return; // never answer: the socket stays open until the client gives up or close()
    case 'reset': {
      const socket = res.req.socket as Socket & { resetAndDestroy?: () => void };
      return void (socket.resetAndDestroy ? socket.resetAndDestroy() : socket.destroy());
    }
    case '401':
      return sendFhir(res, 401, JSON.stringify(operationOutcome('login', UNAUTHENTICATED_TEXT)), { 'WWW-Authenticate': 'Bearer' });
    default: {
      const answer = faultAnswer(kind, '', retryAfter);
      return sendFhir(res, answer.status, JSON.stringify(answer.body), answer.headers);
    }
  }
}

/** The FHIR reads over a loaded directory. */
export function fhirResource({ info, bodies }: LoadedDirectory, deps: FhirDeps): FhirResource {
  let queue: FhirFaultKind[] = [];
  let reads = 0;
  let byType: Record<FhirResourceType, number> = { Patient: 0, Practitioner: 0, Location: 0 };
  let perKey = new Map<string, number>();

  const read: Handler = async (req, res, { params }) => {
    const type = params.type as FhirResourceType;
    let id = params.id ?? '';
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
    answerRead(kind, type, id, bodies[type].get(id), res, deps.faults().retryAfter ?? '1');
  };

  return {
    directory: info,
    read,
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
