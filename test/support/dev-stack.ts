import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DEV_ENTRY = fileURLToPath(new URL('../../infra/local/dev.ts', import.meta.url));

export interface DevStack {
  url: string;
  dynamoEndpoint: string;
  kmsEndpoint: string;
  /** The local S3 (or the AWS_ENDPOINT_URL_S3 it was given). */
  s3Endpoint: string;
  /** Everything the stack printed so far (its log). */
  output(): string;
  /** Sends Ctrl-C (SIGINT) and waits for the stack to exit; resolves to its exit code. */
  stop(): Promise<number | null>;
  child: ChildProcess;
}

/** Starts `npm run dev`'s entry point as a child process, exactly as a developer would. */
export async function startDevStack(
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<DevStack> {
  // Endpoints another test set in this worker's environment must not leak into a new stack.
  const inherited = { ...process.env };
  for (const name of Object.keys(inherited)) {
    if (name.startsWith('AWS_ENDPOINT_URL_') || name === 'OPENAI_BASE_URL') delete inherited[name];
  }
  const child = spawn(process.execPath, [DEV_ENTRY], {
    env: { ...inherited, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const started = new Promise<
    Pick<DevStack, 'url' | 'dynamoEndpoint' | 'kmsEndpoint' | 's3Endpoint'>
  >((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`dev stack did not start:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      const dynamoEndpoint = /DynamoDB Local: (http:\/\/\S+)/.exec(output)?.[1];
      const kmsEndpoint = /KMS \(local\): (http:\/\/[^\s,]+)/.exec(output)?.[1];
      const s3Endpoint = /S3 \(local\): (http:\/\/[^\s,]+)/.exec(output)?.[1];
      if (url && dynamoEndpoint && kmsEndpoint && s3Endpoint) {
        clearTimeout(timer);
        done({ url, dynamoEndpoint, kmsEndpoint, s3Endpoint });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`dev stack exited (${code}) before it was ready:\n${output}`));
    });
  });
  const { url, dynamoEndpoint, kmsEndpoint, s3Endpoint } = await started;
  return {
    url,
    dynamoEndpoint,
    kmsEndpoint,
    s3Endpoint,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}
