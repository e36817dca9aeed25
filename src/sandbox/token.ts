/**
 * The sandbox's OAuth token endpoint, POST /auth/token/ (client-credentials flow; the client id
 * and secret in the form, or in Basic auth when the form has no client_id), and the bearer tokens
 * it has issued, each valid until its expiry or revoke().
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readBody, safeDecode, sendJson } from './http.js';
import type { Handler } from './router.js';
import type { SandboxState } from './state.js';

const TOKEN_BODY_LIMIT = 64 * 1024;

export interface TokenResource {
  /** True when the Authorization header is `Bearer <token>` for an issued token not yet expired. */
  valid: (authorization: string | undefined) => boolean;
  /** POST: check the form and credentials, then issue a token. */
  issue: Handler;
  /** Any other method: counted as a token request, answered 405. */
  refuseMethod: Handler;
  /** Every token issued so far becomes invalid. */
  revoke: () => void;
}

/** The client id and secret from the form, or from a Basic Authorization header when the form has no client_id. */
function credentials(form: URLSearchParams, req: IncomingMessage): { id: string | null; secret: string | null } {
  let id = form.get('client_id');
  let secret = form.get('client_secret');
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic?.[1] && id === null) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    id = safeDecode(decoded.slice(0, colon));
    secret = safeDecode(decoded.slice(colon + 1));
  }
  return { id, secret };
}

export function tokenResource(state: SandboxState, accepted: { clientId: string; clientSecret: string }): TokenResource {
  const tokens = new Map<string, number>(); // token -> expiry (ms since epoch)

  /** Forget expired tokens, then issue one for the configured lifetime. */
  function newToken(): { token: string; lifetime: number } {
    const now = Date.now();
    for (const [t, expiry] of tokens) if (expiry <= now) tokens.delete(t);
    const lifetime = state.faults.tokenLifetimeSeconds ?? 3600;
    const token = randomBytes(32).toString('base64url');
    tokens.set(token, now + lifetime * 1000);
    state.counts.tokensIssued++;
    return { token, lifetime };
  }

  const issue: Handler = async (req, res) => {
    state.counts.tokenRequests++;
    const body = await readBody(req, TOKEN_BODY_LIMIT);
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'body must be application/x-www-form-urlencoded' });
    }
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    const { id, secret } = credentials(form, req);
    if (id !== accepted.clientId || secret !== accepted.clientSecret) return sendJson(res, 401, { error: 'invalid_client' });
    const { token, lifetime } = newToken();
    sendJson(
      res,
      200,
      { access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: form.get('scope') ?? 'system/*.*' },
      { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
    );
  };

  return {
    valid: (header) => {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
      const expiry = m?.[1] ? tokens.get(m[1]) : undefined;
      return expiry !== undefined && Date.now() < expiry;
    },
    issue,
    refuseMethod(_req, res) {
      state.counts.tokenRequests++;
      sendJson(res, 405, { error: 'invalid_request', error_description: 'use POST' }, { Allow: 'POST' });
    },
    revoke: () => tokens.clear(),
  };
}
