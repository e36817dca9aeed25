/**
 * The sandbox's web inbox and its letter routes (routes.ts maps each method and path to them):
 *   GET    /                            the inbox page (page.ts): letters, viewer, fault form
 *   GET    /sandbox/letters             newest first, without content; ?q= search (every term, in
 *                                      keys, template, subject or letter text; case and accents
 *                                      ignored; each hit has `match`: an excerpt of the letter text
 *                                      around the first hit, or null), ?limit=N; ETag; X-Total-Count
 *   DELETE /sandbox/letters             forget all letters (and their store files)
 *   GET    /sandbox/letters/<id>        one letter with content (and template, subject)
 *   GET    /sandbox/letters/<id>/html   the raw letter as text/html under a strict CSP, for the
 *                                      page's sandboxed iframe
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { operationOutcome } from './faults.js';
import { sendJson, sendText } from './http.js';
import { INBOX_PAGE } from './page.js';
import type { Handler } from './router.js';
import type { SandboxControls } from './state.js';
import { matches, searchTerms, summarize, textMatch, type LetterSummary, type TextMatch } from './summary.js';
import type { ReceivedLetter } from './types.js';

export const PAGE_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self'; img-src data:";
export const LETTER_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

const PRIVATE_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
const MAX_QUERY = 500;

function listLetters(req: IncomingMessage, res: ServerResponse, url: URL, letters: readonly ReceivedLetter[]): void {
  const q = (url.searchParams.get('q') ?? '').slice(0, MAX_QUERY);
  const limitText = url.searchParams.get('limit');
  const limit = limitText === null ? Infinity : Number(limitText);
  if (!(Number.isSafeInteger(limit) && limit >= 0) && limit !== Infinity) {
    return sendJson(res, 400, operationOutcome('invalid', 'limit must be a whole number.'));
  }
  const n = letters.length;
  const tag = createHash('sha256')
    .update(`${n}\n${letters[0]?.id ?? ''}\n${letters[n - 1]?.id ?? ''}\n${q}\n${limit}`)
    .digest('base64url')
    .slice(0, 22);
  const etag = `"${tag}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ETag: etag, 'Cache-Control': 'no-cache' }).end();
    return;
  }
  const terms = searchTerms(q);
  const found: (LetterSummary & { match?: TextMatch | null })[] = [];
  let total = 0;
  for (let i = n - 1; i >= 0; i--) {
    const letter = letters[i]!;
    if (!matches(letter, terms)) continue;
    total++;
    if (found.length < limit) found.push(terms.length ? { ...summarize(letter), match: textMatch(letter, terms) } : summarize(letter));
  }
  sendJson(res, 200, found, { ETag: etag, 'Cache-Control': 'no-cache', 'X-Total-Count': String(total) });
}

export interface InboxResource {
  /** GET /: the inbox page. */
  page: Handler;
  /** GET /sandbox/letters: the letters, newest first, without content. */
  list: Handler;
  /** DELETE /sandbox/letters: forget every letter. */
  clear: Handler;
  /** GET /sandbox/letters/{id}: one letter with its content. */
  letter: Handler;
  /** GET /sandbox/letters/{id}/html: the letter itself, under LETTER_CSP. */
  letterHtml: Handler;
}

function notFound(res: ServerResponse): void {
  sendJson(res, 404, operationOutcome('not-found', 'No letter with that id.'));
}

export function inboxResource(sandbox: SandboxControls): InboxResource {
  const find = (id: string | undefined) => sandbox.letters.find((l) => l.id === id); // ids are hex: no decoding needed
  return {
    page(_req, res) {
      sendText(res, 200, 'text/html; charset=utf-8', INBOX_PAGE, {
        ...PRIVATE_HEADERS,
        'Content-Security-Policy': PAGE_CSP,
        'X-Frame-Options': 'DENY',
      });
    },
    list: (req, res, { url }) => listLetters(req, res, url, sandbox.letters),
    clear(_req, res) {
      sandbox.clearLetters();
      res.writeHead(204).end();
    },
    letter(_req, res, { params }) {
      const letter = find(params.id);
      if (!letter) return notFound(res);
      sendJson(res, 200, { ...summarize(letter), content: letter.content }, { 'Cache-Control': 'no-store' });
    },
    letterHtml(_req, res, { params }) {
      const letter = find(params.id);
      if (!letter) return notFound(res);
      sendText(res, 200, 'text/html; charset=utf-8', letter.content, {
        ...PRIVATE_HEADERS,
        'Content-Security-Policy': LETTER_CSP,
        'Cross-Origin-Resource-Policy': 'same-origin',
      });
    },
  };
}
