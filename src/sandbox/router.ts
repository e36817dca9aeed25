/**
 * The sandbox's request dispatch over a route table (routes.ts). Each route is [method, path
 * pattern, handler]; the first route whose pattern and method match answers. A pattern is
 * literal text with `{name}` (one path segment, passed on still percent-encoded) or `{name:A|B}`
 * (one of those words), and may end in `/?` (the trailing slash is optional). Method `*` matches
 * every method. A path that some route matches, but not with this method, gets 405 with Allow
 * naming the methods listed for it (HEAD left out); any other path gets 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { operationOutcome } from './faults.js';
import { refuseReason, sendJson, wrongMethod } from './http.js';

/** What the router found out about a request: its URL and the pattern's named segments. */
export interface RouteRequest {
  url: URL;
  params: Record<string, string>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, at: RouteRequest) => void | Promise<void>;

export type Route = readonly [method: string, path: string, handler: Handler];

interface CompiledRoute {
  method: string;
  regex: RegExp;
  names: string[];
  handler: Handler;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Turn a path pattern into an anchored regular expression and the names of its segments. */
export function compilePattern(pattern: string): { regex: RegExp; names: string[] } {
  const optionalSlash = pattern.length > 2 && pattern.endsWith('/?');
  const body = optionalSlash ? pattern.slice(0, -2) : pattern;
  const names: string[] = [];
  const source = body
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{(\w+)(?::([\w|]+))?\}$/.exec(part);
      if (!m) return escapeRegex(part);
      names.push(m[1] ?? '');
      return m[2] ? `(${m[2]})` : '([^/]+)';
    })
    .join('');
  return { regex: new RegExp(`^${source}${optionalSlash ? '/?' : ''}$`), names };
}

/** Compile a route table once, at start. */
export function compileRoutes(routes: readonly Route[]): CompiledRoute[] {
  return routes.map(([method, path, handler]) => ({ method, handler, ...compilePattern(path) }));
}

/**
 * Answer one request: 403 when it must be refused (see refuseReason), else the first matching
 * route's handler, else 405 or 404 as described above.
 */
export async function dispatch(table: readonly CompiledRoute[], req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
  const refused = refuseReason(req, port);
  if (refused) return sendJson(res, 403, operationOutcome('forbidden', refused));
  const url = new URL(req.url ?? '/', 'http://sandbox');
  const path = url.pathname;
  const allowed: string[] = [];
  for (const route of table) {
    const m = route.regex.exec(path);
    if (!m) continue;
    if (route.method === req.method || route.method === '*') {
      const params = Object.fromEntries(route.names.map((name, i) => [name, m[i + 1] ?? '']));
      return route.handler(req, res, { url, params });
    }
    if (route.method !== 'HEAD' && !allowed.includes(route.method)) allowed.push(route.method);
  }
  if (allowed.length > 0) return wrongMethod(res, allowed.join(', '));
  sendJson(res, 404, operationOutcome('not-found', `No such endpoint: ${req.method ?? ''} ${path.slice(0, 200)}`));
}
