import { Writable } from 'node:stream';

/**
 * What the Lambda Node.js runtime gives response-streaming handlers, for running them outside
 * Lambda: the `awslambda` global (`streamifyResponse`, `HttpResponseStream.from`) and the
 * marker the runtime reads. Install it before importing a streaming handler.
 */
export const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8);

type StreamingHandler = ((...args: unknown[]) => unknown) & { [STREAMING]?: string };

interface LambdaResponseStream extends Writable {
  setContentType(type: string): void;
}

export function installLambdaStreamingGlobals() {
  const runtime = {
    streamifyResponse(handler: StreamingHandler) {
      handler[STREAMING] = 'response';
      return handler;
    },
    HttpResponseStream: {
      from(stream: LambdaResponseStream, prelude: unknown) {
        stream.setContentType(PRELUDE_CONTENT_TYPE);
        stream.write(JSON.stringify(prelude));
        stream.write(DELIMITER);
        return stream;
      },
    },
  };
  // Other libraries (the AWS SDK's invoke store) may have made the object already: add to it.
  const global = globalThis as { awslambda?: Partial<typeof runtime> };
  global.awslambda ??= {};
  global.awslambda.streamifyResponse ??= runtime.streamifyResponse;
  global.awslambda.HttpResponseStream ??= runtime.HttpResponseStream;
}

export function isStreamingHandler(handler: unknown): boolean {
  return (handler as StreamingHandler)[STREAMING] === 'response';
}

export interface HttpPrelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

/**
 * A response stream like Lambda's: with an HTTP prelude (JSON, then 8 NUL bytes) it calls
 * `onHead` once with the status and headers, then hands every body chunk to `onBody` as it
 * arrives, so nothing is buffered.
 */
export function responseStream(
  onHead: (prelude: HttpPrelude) => void,
  onBody: (chunk: Buffer) => void,
): LambdaResponseStream {
  let contentType: string | undefined;
  let pending: Buffer | undefined = Buffer.alloc(0);
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (pending === undefined) {
        if (chunk.length > 0) onBody(chunk);
        return done();
      }
      if (contentType !== PRELUDE_CONTENT_TYPE) {
        onHead({ statusCode: 200, headers: contentType ? { 'Content-Type': contentType } : {} });
        pending = undefined;
        if (chunk.length > 0) onBody(chunk);
        return done();
      }
      pending = Buffer.concat([pending, chunk]);
      const end = pending.indexOf(DELIMITER);
      if (end >= 0) {
        onHead(JSON.parse(pending.subarray(0, end).toString('utf8')) as HttpPrelude);
        const rest = pending.subarray(end + DELIMITER.length);
        pending = undefined;
        if (rest.length > 0) onBody(rest);
      }
      done();
    },
  }) as LambdaResponseStream;
  stream.setContentType = (type) => {
    contentType = type;
  };
  return stream;
}
