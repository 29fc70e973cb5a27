import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';

/** A port a part of the local stack wants, and the setting that chooses another. */
export interface PortWish {
  port: number;
  /** What listens there, for the message ("the API", "DynamoDB Local"). */
  what: string;
  /** The variable that picks another port. */
  variable: string;
}

/** Said when a port is taken: which one, by whom it was wanted, and how to choose another. */
export class PortTakenError extends Error {
  constructor({ port, what, variable }: PortWish) {
    super(
      `Port ${port} on 127.0.0.1 (for ${what}) is already in use, perhaps by another npm run dev. ` +
        `Stop that, or choose another port: ${variable}=<port> (0 picks any free port).`,
    );
    this.name = 'PortTakenError';
  }
}

/** Listens on 127.0.0.1 and resolves to the port, or rejects plainly when it is taken. */
export async function listenOnLoopback(server: Server, wish: PortWish): Promise<number> {
  await new Promise<void>((done, fail) => {
    const onError = (error: NodeJS.ErrnoException) =>
      fail(error.code === 'EADDRINUSE' ? new PortTakenError(wish) : error);
    server.once('error', onError);
    server.listen(wish.port, '127.0.0.1', () => {
      server.removeListener('error', onError);
      done();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Rejects when anything already listens on the port, on any interface: DynamoDB Local binds
 * them all, so a taken port would otherwise mean quietly using someone else's database.
 */
export async function assertPortFree(wish: PortWish): Promise<void> {
  for (const host of ['0.0.0.0', '127.0.0.1']) {
    const probe = createServer();
    await new Promise<void>((done, fail) => {
      probe.once('error', (error: NodeJS.ErrnoException) =>
        fail(error.code === 'EADDRINUSE' ? new PortTakenError(wish) : error),
      );
      probe.listen(wish.port, host, () => probe.close(() => done()));
    });
  }
}

/** Closes a server and the idle keep-alive connections the SDKs leave open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    server.close(() => done());
    server.closeAllConnections();
  });
}

/** A request's body, or undefined when it is over `maxBytes`. */
export async function readBody(
  req: IncomingMessage,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
