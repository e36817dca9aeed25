/**
 * The sandbox's JSON control API under /sandbox/, for scripts, other processes and the inbox
 * page (the letter routes, /sandbox/letters..., are in inbox.ts; routes.ts maps each method and
 * path to these handlers):
 *   GET    /sandbox/stats          stats() without startTimes and fhirReadCounts
 *   GET    /sandbox/faults         current FaultConfig
 *   PUT    /sandbox/faults         merge a JSON FaultConfig (setFaults)
 *   POST   /sandbox/script         {"kinds": [...]}: script the next outcomes
 *   POST   /sandbox/fhir-script    {"kinds": [...]}: script the next FHIR read outcomes (scriptFhir)
 *   POST   /sandbox/revoke-tokens  revokeTokens()
 *   POST   /sandbox/reset          reset()
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isFaultKind, operationOutcome } from './faults.js';
import { isFhirFaultKind } from './fhir.js';
import { readBody, sendJson } from './http.js';
import type { Handler } from './router.js';
import type { SandboxControls } from './state.js';
import type { FaultConfig, FaultKind, FhirFaultKind } from './types.js';

const CONTROL_BODY_LIMIT = 64 * 1024;

export interface ControlResource {
  stats: Handler;
  faults: Handler;
  setFaults: Handler;
  script: Handler;
  scriptFhir: Handler;
  revokeTokens: Handler;
  reset: Handler;
}

function noContent(res: ServerResponse): void {
  res.writeHead(204).end();
}

/** The parsed JSON body, or undefined after answering 400. */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | undefined> {
  const text = await readBody(req, CONTROL_BODY_LIMIT);
  try {
    return { value: JSON.parse(text) };
  } catch {
    sendJson(res, 400, operationOutcome('invalid', 'Request body is not valid JSON.'));
    return undefined;
  }
}

/** The `kinds` of a {"kinds": [...]} body when each is a known kind, or undefined after answering 400. */
async function readKinds<K>(req: IncomingMessage, res: ServerResponse, known: (kind: unknown) => kind is K): Promise<K[] | undefined> {
  const body = await readJson(req, res);
  if (!body) return undefined;
  const kinds = (body.value as { kinds?: unknown } | null)?.kinds;
  if (!Array.isArray(kinds) || !kinds.every(known)) {
    sendJson(res, 400, operationOutcome('invalid', 'Body must be {"kinds": [...]} with known fault kinds.'));
    return undefined;
  }
  return kinds;
}

export function controlResource(sandbox: SandboxControls): ControlResource {
  return {
    stats(_req, res) {
      const { startTimes: _omitted, fhirReadCounts: _perKey, ...stats } = sandbox.stats();
      sendJson(res, 200, stats);
    },
    faults: (_req, res) => sendJson(res, 200, sandbox.faults()),
    async setFaults(req, res) {
      const body = await readJson(req, res);
      if (!body) return;
      try {
        sandbox.setFaults(body.value as FaultConfig);
      } catch (err) {
        return sendJson(res, 400, operationOutcome('invalid', (err as Error).message));
      }
      sendJson(res, 200, sandbox.faults());
    },
    async script(req, res) {
      const kinds = await readKinds<FaultKind>(req, res, isFaultKind);
      if (!kinds) return;
      sandbox.script(...kinds);
      noContent(res);
    },
    async scriptFhir(req, res) {
      const kinds = await readKinds<FhirFaultKind>(req, res, isFhirFaultKind);
      if (!kinds) return;
      sandbox.scriptFhir(...kinds);
      noContent(res);
    },
    revokeTokens(_req, res) {
      sandbox.revokeTokens();
      noContent(res);
    },
    reset(_req, res) {
      sandbox.reset();
      noContent(res);
    },
  };
}
