/**
 * The HTTP client: got over keep-alive agents, one attempt per call, no retries, no redirects,
 * the body read as text and capped. Requests go through the proxy the environment names
 * (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, see proxy.ts), loopback hosts always direct.
 *
 * A failure without an answer rejects with HttpFailure, which records whether anything may have
 * reached the server: nothing was sent until the socket finished connecting (TCP, then TLS for
 * https; through a proxy, the tunnel and then TLS); a reused keep-alive socket counts as
 * connected; an error of a shape we do not know counts as "may have reached". Failures carry
 * codes only, never the request's headers or body, nor the proxy URL.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import got, { RequestError, type Got, type Request } from 'got';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { proxyFor, proxySettings, type ProxyEnv, type ProxySettings } from './proxy.js';

export interface HttpOptions {
  /** Most requests in flight at once; the agents keep this many sockets (+ 2 for token requests). */
  concurrency: number;
  /** Bounds one whole attempt: connect, send, wait, read. */
  timeoutMs: number;
  dnsLookup?: LookupFunction;
  /** Idle keep-alive sockets are closed after this long (default 4 s, before typical servers close them). */
  idleSocketMs?: number;
  /** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read (default: process.env). */
  env?: ProxyEnv;
}

export interface HttpRequest {
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** This attempt's timeout instead of the client's. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request that ended without a (whole) answer. */
export class HttpFailure extends Error {
  constructor(
    /** The Node error code (ECONNREFUSED, ETIMEDOUT, ERR_ABORTED, …), or '' when there is none. */
    readonly code: string,
    /** The socket was connected (or we cannot tell), so the request may have reached the server. */
    readonly mayHaveReached: boolean,
    /** The status, when a response head arrived before the failure. */
    readonly httpStatus?: number,
  ) {
    super(code || 'network error');
    this.name = 'HttpFailure';
  }
}

const IDLE_SOCKET_MS = 4_000;
/** Connecting gives up after this long (or the timeout, if shorter) while nothing has been sent. */
const CONNECT_TIMEOUT_CAP_MS = 10_000;
/** Answers are small JSON; anything beyond this is not kept. */
const MAX_BODY_CHARS = 1 << 20;
const CODE = /^[A-Z0-9_]{1,64}$/;

/** hpagent's refusal when the proxy answers CONNECT with anything but 200. */
const PROXY_REFUSED = /^Bad response: \d{3}$/;

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_GOT_REQUEST_ERROR') {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error && PROXY_REFUSED.test(cause.message)) return 'ERR_PROXY_REFUSED';
    return codeOf(cause);
  }
  return typeof code === 'string' && CODE.test(code) ? code : '';
}

type Agents = { http: http.Agent; https: https.Agent };

export class HttpClient {
  private readonly direct: Agents;
  /** Agents through the proxy, for the protocols that have one. */
  private readonly proxied: Agents;
  private readonly proxies: ProxySettings;
  private readonly got: Got;
  private readonly timeoutMs: number;
  /** Sockets that finished connecting (TLS included) while we watched: reused ones count as connected. */
  private readonly connected = new WeakSet<Socket>();

  constructor(opts: HttpOptions) {
    // One socket per letter in flight plus one for a token renewal. got resolves a request when
    // its body ends, a tick before the agent frees the socket: with spare sockets the next
    // letter would open a new connection instead of waiting that tick for a kept-alive one.
    const maxSockets = Math.max(1, Math.ceil(opts.concurrency)) + 1;
    const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: opts.idleSocketMs ?? IDLE_SOCKET_MS, scheduling: 'lifo' as const };
    this.proxies = proxySettings(opts.env ?? process.env);
    this.direct = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    this.proxied = {
      http: this.proxies.http ? new HttpProxyAgent({ ...agentOptions, proxy: this.proxies.http }) : this.direct.http,
      https: this.proxies.https ? new HttpsProxyAgent({ ...agentOptions, proxy: this.proxies.https }) : this.direct.https,
    };
    this.timeoutMs = opts.timeoutMs;
    this.got = got.extend({
      agent: this.direct,
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      decompress: false,
      timeout: timeouts(opts.timeoutMs),
      headers: { 'user-agent': 'canvas-letters' },
      ...(opts.dnsLookup ? { dnsLookup: opts.dnsLookup } : {}),
    });
  }

  get(url: URL, req: HttpRequest = {}): Promise<HttpResponse> {
    return this.request('GET', url, req);
  }

  post(url: URL, req: HttpRequest = {}): Promise<HttpResponse> {
    return this.request('POST', url, req);
  }

  /** One attempt. Resolves with any status; rejects only with HttpFailure. */
  request(method: string, url: URL, req: HttpRequest): Promise<HttpResponse> {
    if (req.signal?.aborted) return Promise.reject(new HttpFailure('ERR_ABORTED', false));
    let stream: Request;
    try {
      stream = this.got.stream(url, {
        method: method as 'GET',
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        ...(req.timeoutMs !== undefined && req.timeoutMs !== this.timeoutMs ? { timeout: timeouts(req.timeoutMs) } : {}),
        ...(proxyFor(url, this.proxies) ? { agent: this.proxied } : {}),
      });
    } catch (error) {
      // Refused before any socket (an invalid option, say): nothing was sent.
      return Promise.reject(new HttpFailure(codeOf(error), false));
    }
    return this.read(stream, url.protocol === 'https:', req.body === undefined && method !== 'GET' && method !== 'HEAD');
  }

  private read(stream: Request, isHttps: boolean, endEmpty: boolean): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      let connected = false;
      let head: { status: number; statusMessage: string; headers: IncomingHttpHeaders } | undefined;
      let body = '';
      const onSocket = (socket: Socket) => {
        if (this.connected.has(socket) || (!isHttps && !socket.connecting)) {
          connected = true; // a reused keep-alive socket, or an http tunnel through the proxy
          return;
        }
        socket.once(isHttps ? 'secureConnect' : 'connect', () => {
          this.connected.add(socket);
          connected = true;
        });
      };
      stream.once('request', (request: http.ClientRequest) => {
        if (request.socket) onSocket(request.socket);
        else request.once('socket', onSocket);
      });
      stream.once('response', (res: http.IncomingMessage) => {
        head = { status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers };
      });
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        if (body.length < MAX_BODY_CHARS) body += chunk;
      });
      stream.once('end', () => {
        if (head) resolve({ ...head, body });
        else reject(new HttpFailure('ECONNRESET', true));
      });
      stream.once('error', (error: unknown) => {
        reject(failure(error, connected || head !== undefined, head?.status, isHttps));
      });
      if (endEmpty) stream.end();
    });
  }

  /** Destroy the keep-alive sockets. */
  close(): void {
    for (const agent of new Set([this.direct.http, this.direct.https, this.proxied.http, this.proxied.https])) agent.destroy();
  }
}

/** The whole attempt is bounded by `total`; each connecting step (lookup, TCP, TLS) by min(total, 10 s). */
function timeouts(total: number) {
  const early = Math.min(total, CONNECT_TIMEOUT_CAP_MS);
  return { lookup: early, connect: early, secureConnect: early, request: total };
}

/**
 * got's error as an HttpFailure. Nothing was sent until the socket connected: what we watched,
 * or got's own timings, tell. Anything that is not got's error may have reached the server.
 */
function failure(error: unknown, connected: boolean, status: number | undefined, isHttps: boolean): HttpFailure {
  const code = codeOf(error);
  if (!(error instanceof RequestError)) return new HttpFailure(code, true, status);
  const t = error.timings;
  const timed = t !== undefined && ((isHttps ? t.secureConnect : t.connect) !== undefined || t.upload !== undefined || t.response !== undefined);
  const httpStatus = status ?? error.response?.statusCode;
  return new HttpFailure(code, connected || timed || httpStatus !== undefined, httpStatus);
}
