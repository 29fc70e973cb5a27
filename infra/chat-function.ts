import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteSpec } from '#api/route-spec.ts';
import { BUNDLE, entryFor, PROJECT_ROOT, shipRankTables } from './bundling.ts';

export interface ChatFunctionProps {
  route: RouteSpec;
  environment: Record<string, string>;
  logRetention: RetentionDays;
}

/**
 * The one function shape every route uses: its own role and log group, Node 24 on ARM64 (about 20% cheaper per ms than
 * x86 for the same work), its own log group with retention, and a bundle of only what the route
 * imports.
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

  constructor(
    scope: Construct,
    id: string,
    { route, environment, logRetention }: ChatFunctionProps,
  ) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
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
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'ai-chat',
        POWERTOOLS_METRICS_NAMESPACE: 'AiChatHistory',
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
