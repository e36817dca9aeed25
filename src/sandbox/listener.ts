/**
 * The sandbox's node:http server on 127.0.0.1: hands each request to a handler, turns what the
 * handler throws into 413 (body too large, connection closed) or 500, and on close also destroys
 * hanging and idle keep-alive sockets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { operationOutcome } from './faults.js';
import { TooLarge, sendJson } from './http.js';

export interface Listener {
  /** The port bound. */
  readonly port: number;
  /** Run beforeClose, stop listening and destroy every socket; the same promise on every call. */
  close: () => Promise<void>;
}

/** Answer a request whose handler threw. */
function answerError(err: unknown, res: ServerResponse): void {
  if (err instanceof TooLarge && !res.headersSent) {
    return sendJson(res, 413, operationOutcome('too-costly', 'Request body too large.'), { Connection: 'close' });
  }
  if (!res.headersSent && !res.destroyed) sendJson(res, 500, operationOutcome('exception', 'Sandbox internal error.'));
  else res.destroy();
}

/** Listen on 127.0.0.1:port (0: any free port); handle gets each request with the bound port. */
export async function listen(
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse, port: number) => Promise<void>,
  beforeClose: () => void,
): Promise<Listener> {
  const sockets = new Set<Socket>();
  let bound = 0;
  const server = createServer((req, res) => {
    handle(req, res, bound).catch((err: unknown) => answerError(err, res));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        beforeClose();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
