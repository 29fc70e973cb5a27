import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What a dependency does: answer normally, refuse connections, hang, fail on its side (500),
 * or throttle (400 with the service's throttling error).
 */
export type Fault = 'none' | 'refuse' | 'hang' | 'error' | 'throttle';

export interface FaultProxy {
  /** For `AWS_ENDPOINT_URL_*`. */
  endpoint: string;
  /** From now on, calls whose `X-Amz-Target` operation `matches` (all by default) get `fault`. */
  set(fault: Fault, matches?: (operation: string) => boolean): void;
  close(): Promise<void>;
}

/**
 * A proxy on 127.0.0.1 in front of an AWS-protocol service (DynamoDB Local, the local KMS) that
 * can make it fail in the ways real ones do, mid-test: what an outage looks like to the SDK.
 */
export async function startFaultProxy(target: string, throttling: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let fault: Fault = 'none';
  let matches: (operation: string) => boolean = () => true;
  const hung = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const active = matches(operation) ? fault : 'none';
    if (active === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (active === 'hang') {
      hung.add(req.socket);
      return;
    }
    if (active === 'error' || active === 'throttle') {
      req.resume();
      const status = active === 'error' ? 500 : 400;
      const type = active === 'error' ? 'InternalServerError' : throttling;
      res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: `com.amazonaws#${type}`, message: `injected ${type}` }));
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set(next, which = () => true) {
      fault = next;
      matches = which;
      if (next !== 'hang') for (const socket of hung) socket.destroy();
    },
    close: () =>
      new Promise<void>((done) => {
        for (const socket of hung) socket.destroy();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
