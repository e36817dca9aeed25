/**
 * Small node:http helpers shared by the sandbox endpoints: JSON and text answers, bounded body
 * reads, and the check that refuses requests from outside loopback and other origins.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { operationOutcome } from './faults.js';

/** Percent-decode a Basic credential; undecodable input simply fails to match. */
export function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** Too large for its endpoint: answered 413 and the connection closed. */
export class TooLarge extends Error {}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answer 405 naming the methods the path allows. */
export function wrongMethod(res: ServerResponse, allow: string): void {
  sendJson(res, 405, operationOutcome('not-supported', `Method not allowed; use ${allow}.`), { Allow: allow });
}

export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new TooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Send a whole text body with its type; extra headers (e.g. CSP) are added as given. */
export function sendText(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost']);

/**
 * Why a request must be refused, or null. The sandbox holds letters with patient data, so a
 * web page elsewhere must not reach it: the Host must name loopback (no DNS rebinding), and a
 * request that changes something must not come from another origin (no cross-site POST).
 */
export function refuseReason(req: IncomingMessage, port: number): string | null {
  const host = req.headers.host;
  if (host !== undefined) {
    let name: string;
    try {
      name = new URL(`http://${host}`).hostname;
    } catch {
      return 'Bad Host header.';
    }
    if (!LOOPBACK_NAMES.has(name)) return 'The sandbox answers only requests for 127.0.0.1 or localhost.';
  }
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return null;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) {
    return 'Requests from other origins may not change the sandbox.';
  }
  if (req.headers['sec-fetch-site'] === 'cross-site') return 'Requests from other sites may not change the sandbox.';
  return null;
}
