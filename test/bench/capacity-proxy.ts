import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** DynamoDB work seen by the proxy since the last reset. */
export interface Tally {
  calls: number;
  /** Capacity units, read and write together, index writes included. */
  units: number;
  readUnits: number;
  writeUnits: number;
  /** Calls per operation (`GetItem`, `Query`, ...). */
  byOperation: Record<string, number>;
  /** Each call: its operation, the sort key it names (single-item calls) and its units. */
  log: { operation: string; sk?: string; units: number }[];
}

export interface CapacityProxy {
  /** For `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  /** What was counted since the last reset, and a fresh start. */
  take(): Tally;
  close(): Promise<void>;
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

/**
 * A proxy on 127.0.0.1 in front of DynamoDB Local that adds `ReturnConsumedCapacity: INDEXES`
 * to every request and counts calls and the capacity DynamoDB Local reports: the work a route
 * does, measured rather than guessed. (DynamoDB Local does not check signatures, so the body
 * may be changed.)
 */
export async function startCapacityProxy(target: string): Promise<CapacityProxy> {
  const upstream = new URL(target);
  let tally = empty();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      let body = Buffer.concat(chunks);
      let sk: string | undefined;
      if (operation !== 'unknown' && body.length > 0) {
        const json = JSON.parse(body.toString('utf8'));
        json.ReturnConsumedCapacity = 'INDEXES';
        sk = json.Key?.sk?.S ?? json.Item?.sk?.S;
        body = Buffer.from(JSON.stringify(json));
      }
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, 'content-length': String(body.length) },
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (part: Buffer) => parts.push(part));
          answer.on('end', () => {
            const text = Buffer.concat(parts);
            count(tally, operation, sk, text.toString('utf8'));
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            res.end(text);
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take() {
      const taken = tally;
      tally = empty();
      return taken;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function empty(): Tally {
  return { calls: 0, units: 0, readUnits: 0, writeUnits: 0, byOperation: {}, log: [] };
}

function count(tally: Tally, operation: string, sk: string | undefined, answer: string) {
  if (operation === 'unknown') return;
  tally.calls += 1;
  tally.byOperation[operation] = (tally.byOperation[operation] ?? 0) + 1;
  let consumed: unknown;
  try {
    consumed = JSON.parse(answer).ConsumedCapacity;
  } catch {
    consumed = undefined;
  }
  let units = 0;
  for (const item of [consumed].flat() as ({ CapacityUnits?: number } | undefined)[]) {
    units += item?.CapacityUnits ?? 0;
  }
  tally.units += units;
  if (READS.has(operation)) tally.readUnits += units;
  else tally.writeUnits += units;
  tally.log.push({ operation, ...(sk ? { sk } : {}), units });
}
