/**
 * The HTTP client: node:http and node:https over keep-alive agents, one attempt per call, no
 * retries, no redirects, the body read as text. It does the little this tool needs and nothing
 * per request beyond it (no option merging, no hooks), which keeps a letter's CPU and memory low.
 *
 * A failure without an answer rejects with HttpFailure, which records whether anything may have
 * reached the server: nothing was sent until the socket finished connecting (TCP, then TLS for
 * https); a reused keep-alive socket counts as connected. Failures carry codes only, never the
 * request's headers or body.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';

export interface HttpOptions {
  /** Most requests in flight at once; the agents keep this many sockets (+ 2 for token requests). */
  concurrency: number;
  /** Bounds one whole attempt: connect, send, wait, read. */
  timeoutMs: number;
  dnsLookup?: LookupFunction;
  /** Idle keep-alive sockets are closed after this long (default 4 s, before typical servers close them). */
  idleSocketMs?: number;
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
    /** The socket was connected, so the request may have reached the server. */
    readonly sent: boolean,
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

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CODE.test(code) ? code : '';
}

export class HttpClient {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly timeoutMs: number;
  private readonly dnsLookup?: LookupFunction;

  constructor(opts: HttpOptions) {
    const maxSockets = Math.max(1, Math.ceil(opts.concurrency)) + 2;
    const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: opts.idleSocketMs ?? IDLE_SOCKET_MS, scheduling: 'lifo' as const };
    this.agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    this.timeoutMs = opts.timeoutMs;
    this.dnsLookup = opts.dnsLookup;
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
    return new Promise((resolve, reject) => {
      const isHttps = url.protocol === 'https:';
      const headers: Record<string, string | number> = { 'user-agent': 'canvas-letters', ...req.headers };
      if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
      const total = req.timeoutMs ?? this.timeoutMs;
      let connected = false;
      let status: number | undefined;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;

      const fail = (code: string) => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(new HttpFailure(code, connected || status !== undefined, status));
      };
      const onAbort = () => {
        fail('ERR_ABORTED');
        request.destroy();
      };
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      };

      let request: http.ClientRequest;
      try {
        request = (isHttps ? https : http).request({
          method,
          protocol: url.protocol,
          hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port || undefined,
          path: url.pathname + url.search,
          headers,
          agent: isHttps ? this.agents.https : this.agents.http,
          ...(this.dnsLookup ? { lookup: this.dnsLookup } : {}),
        });
      } catch (error) {
        // Refused before any socket (an invalid header value, say): nothing was sent.
        reject(new HttpFailure(codeOf(error), false));
        return;
      }

      // The whole attempt is bounded by `total`; connecting alone by min(total, 10 s).
      const early = Math.min(total, CONNECT_TIMEOUT_CAP_MS);
      const expire = () => {
        fail('ETIMEDOUT');
        request.destroy();
      };
      timer = setTimeout(() => {
        if (!connected) return expire();
        timer = setTimeout(expire, total - early);
      }, early);

      request.on('socket', (socket: Socket) => {
        if (!socket.connecting && (!isHttps || (socket as { encrypted?: boolean }).encrypted)) {
          connected = true; // a reused keep-alive socket
          return;
        }
        socket.once(isHttps ? 'secureConnect' : 'connect', () => {
          connected = true;
        });
      });
      request.on('error', (error) => fail(codeOf(error)));
      request.on('response', (res) => {
        status = res.statusCode ?? 0;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < MAX_BODY_CHARS) body += chunk;
        });
        res.on('error', (error) => fail(codeOf(error) || 'ECONNRESET'));
        res.on('aborted', () => fail('ECONNRESET'));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
          resolve({ status: status!, statusMessage: res.statusMessage ?? '', headers: res.headers, body });
        });
      });

      req.signal?.addEventListener('abort', onAbort, { once: true });
      request.end(req.body);
    });
  }

  /** Destroy the keep-alive sockets. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
