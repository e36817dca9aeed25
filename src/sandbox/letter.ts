/**
 * The sandbox's Letter endpoint, POST /core/api/letter/v1/Letter: checks the bearer token, the
 * Content-Type and the four fields (and, with knownKeys, that the directory knows the three keys:
 * 422 otherwise, as Canvas answers unknown references), then picks the outcome (script first, then the fault rates),
 * waits the latency, and creates the letter (ok, reset, hang) or answers the fault. Every outcome,
 * refusals included, gets the latency. A letter sent under an approval keeps the request's
 * X-Canvas-Letters-Approval header as its `approvalId`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { UNAUTHENTICATED_TEXT, faultAnswer, operationOutcome, type OperationOutcome } from './faults.js';
import { unknownKeys, type Bodies } from './directory.js';
import { readBody, sendJson } from './http.js';
import type { Handler } from './router.js';
import type { SandboxState } from './state.js';
import type { FaultKind, ReceivedLetter } from './types.js';
import { APPROVAL_HEADER, APPROVAL_ID } from '../canvas/letters.js';


const LETTER_FIELDS = ['patientKey', 'providerKey', 'practiceLocationKey', 'content'] as const;
const LETTER_BODY_LIMIT = 10 * 1024 * 1024;

type LetterFields = Record<(typeof LETTER_FIELDS)[number], string>;

interface Refusal {
  ok: false;
  status: number;
  body: OperationOutcome;
  headers?: Record<string, string>;
}

export interface LetterResource {
  /** POST: create a letter, or answer the fault picked for it. */
  create: Handler;
  /** Any other method: 405. */
  refuseMethod: Handler;
}

/** The four fields of a valid request, or why it is refused (a refused token counts as outcome 401). */
function checkRequest(req: IncomingMessage, body: string, state: SandboxState, tokenValid: (h: string | undefined) => boolean): { ok: true; fields: LetterFields } | Refusal {
  if (!tokenValid(req.headers.authorization)) {
    state.counts.outcomes['401']++;
    return { ok: false, status: 401, body: operationOutcome('login', UNAUTHENTICATED_TEXT), headers: { 'WWW-Authenticate': 'Bearer' } };
  }
  if (!/^application\/(fhir\+)?json\b/i.test(req.headers['content-type'] ?? '')) {
    return { ok: false, status: 415, body: operationOutcome('not-supported', 'Content-Type must be application/json.') };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, body: operationOutcome('invalid', 'Request body is not valid JSON.') };
  }
  const record = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  const missing = LETTER_FIELDS.filter((f) => typeof record[f] !== 'string' || record[f].trim() === '');
  if (missing.length > 0) {
    const outcome = operationOutcome('invalid', '');
    outcome.issue = missing.map((f) => ({ severity: 'error', code: 'invalid', details: { text: `${f}: this field is required and must be a non-empty string.` } }));
    return { ok: false, status: 400, body: outcome };
  }
  return { ok: true, fields: record as LetterFields };
}

/** With a directory to check against: 422 with one issue per key it does not know (counted as outcome 422). */
function checkKeys(fields: LetterFields, known: Bodies | undefined, state: SandboxState): Refusal | undefined {
  const unknown = known ? unknownKeys(known, fields) : [];
  if (unknown.length === 0) return undefined;
  state.counts.outcomes['422']++;
  const outcome = operationOutcome('not-found', '');
  outcome.issue = unknown.map((text) => ({ severity: 'error', code: 'not-found', details: { text } }));
  return { ok: false, status: 422, body: outcome };
}

/** Keep the letter (in the store first: a created letter survives a restart), then answer as the kind says. */
function createLetter(kind: 'ok' | 'reset' | 'hang', fields: LetterFields, req: IncomingMessage, res: ServerResponse, state: SandboxState): void {
  const id = randomBytes(16).toString('hex');
  const { patientKey, providerKey, practiceLocationKey, content } = fields;
  const approval = req.headers[APPROVAL_HEADER];
  const letter: ReceivedLetter = { id, receivedAt: new Date().toISOString(), patientKey, providerKey, practiceLocationKey, content, size: Buffer.byteLength(content) };
  if (typeof approval === 'string' && APPROVAL_ID.test(approval)) letter.approvalId = approval; // a UUID, as send writes it; anything else is not kept
  state.store?.save(letter);
  state.letters.push(letter);
  if (kind === 'reset') {
    const socket = req.socket as Socket & { resetAndDestroy?: () => void };
    return void (socket.resetAndDestroy ? socket.resetAndDestroy() : socket.destroy());
  }
  if (kind === 'hang') return; // never answer: the socket stays open until the client gives up or close()
  const mode = state.faults.responseBody ?? 'json';
  if (mode === 'json') return sendJson(res, 201, { letterKey: id });
  if (mode === 'empty') return void res.writeHead(201, { 'Content-Length': 0 }).end();
  const text = `Letter ${id} created.`;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

/**
 * The Letter endpoint over the state. `knownKeys`: the directory whose Patient, Practitioner and
 * Location ids a letter's keys must be (undefined: any keys are accepted).
 */
export function letterResource(state: SandboxState, tokenValid: (authorization: string | undefined) => boolean, knownKeys?: Bodies): LetterResource {
  const create: Handler = async (req, res) => {
    state.counts.letterRequests++;
    state.counts.startTimes.push(Date.now());
    state.inFlight++;
    state.counts.maxInFlight = Math.max(state.counts.maxInFlight, state.inFlight);
    res.once('close', () => state.inFlight--);
    const body = await readBody(req, LETTER_BODY_LIMIT);

    // Decide the answer first, then wait the latency, then act: every outcome gets the latency.
    const request = checkRequest(req, body, state, tokenValid);
    const checked = request.ok ? (checkKeys(request.fields, knownKeys, state) ?? request) : request;
    if (!checked.ok) {
      await state.sleep(state.faults.latencyMs ?? 0);
      return sendJson(res, checked.status, checked.body, checked.headers);
    }
    const kind: FaultKind = state.picker.next(state.faults.rates);
    state.counts.outcomes[kind]++; // the counts of now: reset() may have replaced them meanwhile
    await state.sleep(state.faults.latencyMs ?? 0);
    if (kind === 'ok' || kind === 'reset' || kind === 'hang') return createLetter(kind, checked.fields, req, res, state);
    const answer = faultAnswer(kind, checked.fields.patientKey, state.faults.retryAfter ?? '1');
    sendJson(res, answer.status, answer.body, answer.headers);
  };

  return {
    create,
    refuseMethod: (_req, res) => sendJson(res, 405, operationOutcome('not-supported', 'Method not allowed.'), { Allow: 'POST' }),
  };
}
