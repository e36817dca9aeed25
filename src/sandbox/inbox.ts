/**
 * The sandbox's web inbox and its letter routes:
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
import { sendJson, sendText, wrongMethod } from './http.js';
import { INBOX_PAGE } from './page.js';
import { matches, searchTerms, summarize, textMatch, type LetterSummary, type TextMatch } from './summary.js';
import type { ReceivedLetter, Sandbox } from './types.js';

export const PAGE_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self'; img-src data:";
export const LETTER_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

const PRIVATE_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
const MAX_QUERY = 500;

function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

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

/** Answer `/` and the /sandbox/letters routes; false when the path is not one of them. */
export function handleInbox(req: IncomingMessage, res: ServerResponse, url: URL, sandbox: Sandbox): boolean {
  const method = req.method ?? 'GET';
  const path = url.pathname;
  if (path === '/' || path === '/index.html') {
    if (!isRead(method)) return wrongMethod(res, 'GET');
    sendText(res, 200, 'text/html; charset=utf-8', INBOX_PAGE, {
      ...PRIVATE_HEADERS,
      'Content-Security-Policy': PAGE_CSP,
      'X-Frame-Options': 'DENY',
    });
    return true;
  }
  if (path === '/sandbox/letters') {
    if (isRead(method)) listLetters(req, res, url, sandbox.letters);
    else if (method === 'DELETE') {
      sandbox.clearLetters();
      res.writeHead(204).end();
    } else wrongMethod(res, 'GET, DELETE');
    return true;
  }
  const one = /^\/sandbox\/letters\/([^/]+)(\/html)?$/.exec(path);
  if (!one) return false;
  if (!isRead(method)) return wrongMethod(res, 'GET');
  const letter = sandbox.letters.find((l) => l.id === one[1]); // ids are hex: no decoding needed
  if (!letter) {
    sendJson(res, 404, operationOutcome('not-found', 'No letter with that id.'));
  } else if (one[2]) {
    sendText(res, 200, 'text/html; charset=utf-8', letter.content, {
      ...PRIVATE_HEADERS,
      'Content-Security-Policy': LETTER_CSP,
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
  } else {
    sendJson(res, 200, { ...summarize(letter), content: letter.content }, { 'Cache-Control': 'no-store' });
  }
  return true;
}
