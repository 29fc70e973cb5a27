import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteSpec } from '#api/route-spec.ts';
import { BUNDLE, entryFor, PROJECT_ROOT, shipRankTables } from './bundling.ts';
import { type FunctionKind, kindOf } from './config.ts';

/** The service name on every log line and metric (Powertools' `service` dimension). */
export const SERVICE_NAME = 'ai-chat';
/** The CloudWatch namespace of the service's own metrics (`lib/commons/metrics.ts`). */
export const METRICS_NAMESPACE = 'AiChatHistory';

export interface ChatFunctionProps {
  route: RouteSpec;
  environment: Record<string, string>;
  /** How long the function's log group keeps its logs. */
  logRetention: RetentionDays;
  /** The KMS key the log group is encrypted with. */
  logKey: IKey;
  /** Executions reserved for this function, which are also its ceiling; 0 reserves none. */
  reservedConcurrency: number;
}

/**
 * The one function shape every route uses: its own role, Node 24 on ARM64 (about 20% cheaper
 * per ms than x86 for the same work), its own log group (retention, encrypted, retained), its
 * kind's reserved concurrency, and a bundle of only what the route imports.
 *
 * Reserved concurrency both guarantees a kind its executions and caps it: a user holding many
 * streams open exhausts the streaming functions' reservation, not the account (and every other
 * function in it).
 *
 * No X-Ray tracing: an active trace without the Powertools Tracer shows nothing inside a
 * request, and the Tracer (aws-xray-sdk-core) adds about 127 KB to each bundle and about 48 ms
 * to each cold start's import (measured; the metrics module costs 15 KB and 5 ms), on the
 * functions whose cold start is the figure we watch. What an operator needs inside a request is
 * in the metrics (model latency, tokens, upstream failures by kind, 429s, replays:
 * lib/commons/metrics.ts) and in the structured logs, which carry the request id.
 *
 * Memory: 1024 MB for the routes that call the model (the openai client and JSON of a whole
 * context; more memory also means more CPU, which shortens cold starts), 512 MB for the rest,
 * which wait on DynamoDB and need little CPU. Timeout: the route table's (30 s for send, whose
 * model call has a 25 s deadline inside API Gateway's 29 s; 300 s for stream; 10 s for the rest).
 */
export class ChatFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly route: RouteSpec;
  readonly kind: FunctionKind;
  /** Executions reserved for it (0: none). */
  readonly reservedConcurrency: number;

  constructor(
    scope: Construct,
    id: string,
    { route, environment, logRetention, logKey, reservedConcurrency }: ChatFunctionProps,
  ) {
    super(scope, id);
    this.route = route;
    this.kind = kindOf(route);
    this.reservedConcurrency = reservedConcurrency;
    // Kept when the stack is deleted, like the data they describe; the retention ends them.
    const logGroup = new LogGroup(this, 'Logs', {
      retention: logRetention,
      encryptionKey: logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Its own role with no managed policy: it may write only to its own log group, plus what
    // the stack grants for its route.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    });
    logGroup.grantWrite(role);
    this.fn = new NodejsFunction(this, 'Fn', {
      role,
      entry: entryFor(route.handler),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: route.model ? 1024 : 512,
      timeout: Duration.seconds(route.timeoutSeconds),
      // Lambda reads 0 as "never run", so no reservation means leaving the property out.
      ...(reservedConcurrency > 0 ? { reservedConcurrentExecutions: reservedConcurrency } : {}),
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...environment,
      },
      description: `${route.method} ${route.path}`,
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: false,
        bundleAwsSDK: true,
        target: BUNDLE.target,
        banner: BUNDLE.banner,
        mainFields: [...BUNDLE.mainFields],
        externalModules: [...BUNDLE.external],
        forceDockerBundling: false,
        // Only the routes that call the model count tokens.
        ...(route.model
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: shipRankTables,
              },
            }
          : {}),
      },
    });
  }
}
