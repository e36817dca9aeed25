/**
 * The Canvas letter client: `createLetter` makes exactly one HTTP attempt over the shared
 * keep-alive client and classifies what happened (created, retryable, unauthorized, forbidden,
 * rejected, unknown). Outcomes are built from status codes and error codes, and from server
 * messages only once every secret of the run has been redacted from them (then shortened).
 */
import { STATUS_CODES } from 'node:http';
import type { TokenSource } from './auth.js';
import type { CanvasConfig } from './config.js';
import type { HttpClient } from './http.js';
import { Secrets } from './redact.js';
import { extractLetterId, inspectFailure, parseRetryAfter, serverMessage } from './responses.js';

export interface LetterRequest {
  patientKey: string;
  providerKey: string;
  practiceLocationKey: string;
  content: string;
  /** The approval the letter was sent under (send --approved): sent as the APPROVAL_HEADER header, never in the body. */
  approvalId?: string;
}

/** The request header naming a letter's approval (Canvas ignores unknown headers; the sandbox shows it). */
export const APPROVAL_HEADER = 'x-canvas-letters-approval';
/** An approval id, as approve writes it: a UUID (lower-case hex). Nothing else is sent or shown as one. */
export const APPROVAL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type AttemptOutcome =
  | { kind: 'created'; httpStatus: number; letterId?: string }
  /** Nothing was created; sending again is safe. */
  | { kind: 'retryable'; httpStatus?: number; reason: string; retryAfterMs?: number }
  | { kind: 'unauthorized'; httpStatus: 401 }
  | { kind: 'forbidden'; httpStatus: 403; message: string }
  /** Refused (other 4xx, 3xx, TLS certificate problem): nothing was created, sending again will not help. */
  | { kind: 'rejected'; httpStatus?: number; message: string }
  /** The letter may have been created: never send it again automatically. */
  | { kind: 'unknown'; httpStatus?: number; reason: string }
  /** The request was aborted before anything was written: nothing was created. */
  | { kind: 'aborted'; reason: string };

export const REDIRECT_HINT = 'check CANVAS_BASE_URL: it must be the instance address itself (https://<instance>.canvasmedical.com)';

export class CanvasClient {
  readonly http: HttpClient;
  private readonly tokens: TokenSource;
  private readonly letterUrl: URL;

  constructor(opts: { http: HttpClient; config: CanvasConfig; tokens: TokenSource }) {
    this.http = opts.http;
    this.tokens = opts.tokens;
    this.letterUrl = new URL('core/api/letter/v1/Letter', opts.config.baseUrl);
  }

  /**
   * Exactly one HTTP attempt with the bearer token `token` (the caller's, so it knows which
   * token a 401 refused). Never throws for HTTP or network problems.
   */
  async createLetter(letter: LetterRequest, token: string): Promise<AttemptOutcome> {
    const body = JSON.stringify({
      patientKey: letter.patientKey,
      providerKey: letter.providerKey,
      practiceLocationKey: letter.practiceLocationKey,
      content: letter.content,
    });
    let status: number;
    let text: string;
    let statusMessage: string | undefined;
    let retryAfter: string | undefined;
    try {
      const res = await this.http.post(this.letterUrl, {
        body,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json',
          ...(letter.approvalId !== undefined && { [APPROVAL_HEADER]: letter.approvalId }),
        },
      });
      status = res.status;
      text = res.body;
      statusMessage = res.statusMessage;
      retryAfter = res.headers['retry-after'];
    } catch (error) {
      const f = inspectFailure(error);
      if (f.httpStatus !== undefined) return classify(f.httpStatus, '', undefined, undefined, this.tokens.secrets);
      if (f.tls) return { kind: 'rejected', message: `${f.reason}: check CANVAS_BASE_URL and this machine's trusted certificates` };
      if (f.sent) return { kind: 'unknown', reason: f.reason };
      if (f.aborted) return { kind: 'aborted', reason: f.reason };
      return { kind: 'retryable', reason: f.reason };
    }
    return classify(status, text, statusMessage, retryAfter, this.tokens.secrets);
  }

  /** Destroy the keep-alive sockets (also ends the token source's connections). */
  close(): void {
    this.http.close();
  }
}

function classify(status: number, body: string, statusMessage: string | undefined, retryAfter: string | undefined, secrets: Secrets): AttemptOutcome {
  const message = () => serverMessage(body, status, statusMessage, secrets);
  if (status >= 200 && status < 300) return { kind: 'created', httpStatus: status, letterId: extractLetterId(body) };
  if (status >= 300 && status < 400) return { kind: 'rejected', httpStatus: status, message: `redirect (HTTP ${status}) not followed: ${REDIRECT_HINT}` };
  if (status === 401) return { kind: 'unauthorized', httpStatus: 401 };
  if (status === 403) return { kind: 'forbidden', httpStatus: 403, message: message() };
  if (status === 429 || status === 503) {
    return { kind: 'retryable', httpStatus: status, reason: `HTTP ${status} ${STATUS_CODES[status]}`, retryAfterMs: parseRetryAfter(retryAfter) };
  }
  if (status >= 400 && status < 500) return { kind: 'rejected', httpStatus: status, message: message() };
  return { kind: 'unknown', httpStatus: status, reason: `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim() };
}
