/**
 * The sandbox's JSON control API under /sandbox/, for scripts, other processes and the inbox
 * page (the letter routes, /sandbox/letters..., are in inbox.ts):
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
import { readBody, sendJson, wrongMethod } from './http.js';
import type { FaultConfig, FaultKind, FhirFaultKind, Sandbox } from './types.js';

const CONTROL_BODY_LIMIT = 64 * 1024;

function noContent(res: ServerResponse): void {
  res.writeHead(204).end();
}

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<{ ok: true; value: unknown } | { ok: false }> {
  const text = await readBody(req, CONTROL_BODY_LIMIT);
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    sendJson(res, 400, operationOutcome('invalid', 'Request body is not valid JSON.'));
    return { ok: false };
  }
}

/** Answer a /sandbox/ request; false when the path is not part of the control API. */
export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  sandbox: Sandbox,
  faults: () => FaultConfig,
): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (path === '/sandbox/stats') {
    if (method !== 'GET') return wrongMethod(res, 'GET');
    const { startTimes: _omitted, fhirReadCounts: _perKey, ...stats } = sandbox.stats();
    sendJson(res, 200, stats);
    return true;
  }
  if (path === '/sandbox/faults') {
    if (method === 'GET') sendJson(res, 200, faults());
    else if (method === 'PUT') {
      const body = await readJson(req, res);
      if (!body.ok) return true;
      try {
        sandbox.setFaults(body.value as FaultConfig);
      } catch (err) {
        sendJson(res, 400, operationOutcome('invalid', (err as Error).message));
        return true;
      }
      sendJson(res, 200, faults());
    } else wrongMethod(res, 'GET, PUT');
    return true;
  }
  if (path === '/sandbox/script' || path === '/sandbox/fhir-script') {
    if (method !== 'POST') return wrongMethod(res, 'POST');
    const body = await readJson(req, res);
    if (!body.ok) return true;
    const kinds = (body.value as { kinds?: unknown } | null)?.kinds;
    const fhir = path === '/sandbox/fhir-script';
    if (!Array.isArray(kinds) || !kinds.every(fhir ? isFhirFaultKind : isFaultKind)) {
      sendJson(res, 400, operationOutcome('invalid', 'Body must be {"kinds": [...]} with known fault kinds.'));
      return true;
    }
    if (fhir) sandbox.scriptFhir(...(kinds as FhirFaultKind[]));
    else sandbox.script(...(kinds as FaultKind[]));
    noContent(res);
    return true;
  }
  if (path === '/sandbox/revoke-tokens' || path === '/sandbox/reset') {
    if (method !== 'POST') return wrongMethod(res, 'POST');
    if (path === '/sandbox/reset') sandbox.reset();
    else sandbox.revokeTokens();
    noContent(res);
    return true;
  }
  return false;
}
