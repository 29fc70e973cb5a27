import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  Cors,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseTransferMode,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import {
  AttributeType,
  BillingMode,
  Operation,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { encryptionContext } from '#adapters/key-vault.ts';
import type { RouteSpec } from '#api/route-spec.ts';
import { CORS_ALLOW_HEADERS, routes } from '#api/routes.ts';
import { TABLE } from '#store/table.ts';
import { ChatFunction } from './chat-function.ts';
import { configFromContext, type StackConfig } from './config.ts';

export interface ChatHistoryStackProps extends StackProps {
  /** Overrides the configuration read from CDK context. */
  config?: Partial<StackConfig>;
}

export const KEY_ALIAS = 'alias/ai-chat-history';
const KEY_PURPOSE = encryptionContext('').purpose;

/** Everything the service needs in AWS, from the route table. */
export class ChatHistoryStack extends Stack {
  /** Each route's function, by handler name (for tests and for SAM). */
  readonly functions = new Map<string, ChatFunction>();

  constructor(scope: Construct, id: string, props: ChatHistoryStackProps = {}) {
    super(scope, id, props);
    const config = { ...configFromContext(this.node), ...props.config };
    const logRetention = config.logRetentionDays as number;

    const table = new Table(this, 'Messages', {
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: TABLE.ttlAttribute,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    table.addGlobalSecondaryIndex({
      indexName: TABLE.roomsIndex.name,
      partitionKey: { name: TABLE.roomsIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.roomsIndex.sortKey, type: AttributeType.STRING },
      // Keys only: a send that leaves its room's place alone writes nothing to the index.
      projectionType: ProjectionType.KEYS_ONLY,
    });

    const key = new Key(this, 'ApiKeyKey', {
      alias: KEY_ALIAS,
      description: "Encrypts users' model API keys (encryption context names the user)",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const jwtSecret = config.jwksUrl
      ? undefined
      : new Secret(this, 'JwtSecret', {
          description:
            'HS256 secret shared with the app that issues access tokens (set it to the Flask JWT_SECRET_KEY)',
          generateSecretString: { passwordLength: 64, excludePunctuation: true },
        });
    const fallbackKey = config.fallbackOpenAiKey
      ? new Secret(this, 'FallbackOpenAiKey', {
          description: 'Server-wide OpenAI API key for users who have not stored their own',
        })
      : undefined;

    const common: Record<string, string> = {
      TABLE_NAME: table.tableName,
      ALLOWED_ORIGINS: config.allowedOrigins.join(','),
      ...(jwtSecret
        ? { JWT_SECRET_ARN: jwtSecret.secretArn }
        : { JWKS_URL: config.jwksUrl as string }),
      ...(config.jwtIssuer ? { JWT_ISSUER: config.jwtIssuer } : {}),
      ...(config.jwtAudience ? { JWT_AUDIENCE: config.jwtAudience } : {}),
    };
    const modelEnv: Record<string, string> = {
      OPENAI_MODEL: config.openAiModel,
      ...(config.openAiBaseUrl ? { OPENAI_BASE_URL: config.openAiBaseUrl } : {}),
      ...(fallbackKey ? { OPENAI_API_KEY_SECRET_ARN: fallbackKey.secretArn } : {}),
    };

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const api = new RestApi(this, 'Api', {
      restApiName: 'ai-chat-history',
      description: 'AI chat history',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'prod',
        throttlingRateLimit: config.throttleRatePerSecond,
        throttlingBurstLimit: config.throttleBurst,
        // No X-Ray (see ChatFunction): the functions' metrics and the access logs cover it.
        tracingEnabled: false,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.OFF,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: config.allowedOrigins.includes('*')
          ? Cors.ALL_ORIGINS
          : config.allowedOrigins,
        allowHeaders: CORS_ALLOW_HEADERS,
        allowMethods: Cors.ALL_METHODS,
        maxAge: Duration.minutes(10),
      },
    });
    this.addGatewayResponses(api, config.allowedOrigins);

    for (const route of routes) {
      const chat = new ChatFunction(this, `Route-${route.handler}`, {
        route,
        logRetention,
        environment: {
          ...common,
          ...(route.kms.length > 0 ? { KMS_KEY_ID: key.keyArn } : {}),
          ...(route.model
            ? { ...modelEnv, SEND_TIMEOUT_SECONDS: String(route.timeoutSeconds) }
            : {}),
        },
      });
      this.functions.set(route.handler, chat);
      this.grantRoute(chat, route, { tableArn: table.tableArn, keyArn: key.keyArn });
      if ((route.auth || route.checksJwtSecret) && jwtSecret) this.grantSecret(chat, jwtSecret);
      if (route.model && fallbackKey) this.grantSecret(chat, fallbackKey);
      const integration = route.stream
        ? new LambdaIntegration(chat.fn, {
            responseTransferMode: ResponseTransferMode.STREAM,
            timeout: Duration.seconds(route.timeoutSeconds),
          })
        : new LambdaIntegration(chat.fn);
      api.root.resourceForPath(route.path).addMethod(route.method, integration);
    }

    this.addAlarms(api, table, config.alarmTopicArn);
    if (config.wafRequestsPer5Min > 0) this.addWaf(api, config.wafRequestsPer5Min);

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'Point the frontend here' });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'KeyAlias', { value: KEY_ALIAS });
    if (jwtSecret) new CfnOutput(this, 'JwtSecretArn', { value: jwtSecret.secretArn });
    if (fallbackKey) new CfnOutput(this, 'FallbackOpenAiKeyArn', { value: fallbackKey.secretArn });
  }

  /**
   * Exactly the actions the route table names: table actions on the table, the rooms index
   * query on that index's ARN (DynamoDB authorizes a Query with `IndexName` against the index,
   * not the table), KMS actions on this key for the API-key purpose only.
   */
  private grantRoute(
    chat: ChatFunction,
    route: RouteSpec,
    arns: { tableArn: string; keyArn: string },
  ) {
    if (route.dynamodb.length > 0) {
      chat.fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: route.dynamodb,
          resources: [arns.tableArn],
        }),
      );
    }
    if (route.roomsIndex) {
      chat.fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['dynamodb:Query'],
          resources: [`${arns.tableArn}/index/${TABLE.roomsIndex.name}`],
        }),
      );
    }
    if (route.kms.length > 0) {
      chat.fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: route.kms,
          resources: [arns.keyArn],
          conditions: {
            StringEquals: { 'kms:EncryptionContext:purpose': KEY_PURPOSE },
            Null: { 'kms:EncryptionContext:user_id': 'false' },
          },
        }),
      );
    }
  }

  /** Read-only, value only: the function fetches the secret once, at cold start. */
  private grantSecret(chat: ChatFunction, secret: Secret) {
    chat.fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secret.secretArn],
      }),
    );
  }

  /**
   * The gateway's own errors (unknown route, throttling) in the API's error shape, with CORS.
   * A gateway response cannot pick an origin from a list, so with several allowed origins it
   * echoes the caller's: these answers carry no user data, only the gateway's error.
   */
  private addGatewayResponses(api: RestApi, origins: string[]) {
    const allow = origins.includes('*')
      ? "'*'"
      : origins.length === 1
        ? `'${origins[0]}'`
        : 'method.request.header.Origin';
    const cors = {
      'Access-Control-Allow-Origin': allow,
      ...(origins.length > 1 && !origins.includes('*') ? { Vary: "'Origin'" } : {}),
    };
    const body = (error: string) => ({
      'application/json': JSON.stringify({ success: false, error }),
    });
    api.addGatewayResponse('NotFound', {
      type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: '404',
      responseHeaders: cors,
      templates: body('Not found'),
    });
    api.addGatewayResponse('Throttled', {
      type: ResponseType.THROTTLED,
      statusCode: '429',
      responseHeaders: cors,
      templates: body('Too many requests; try again shortly'),
    });
    api.addGatewayResponse('TooLarge', {
      type: ResponseType.REQUEST_TOO_LARGE,
      statusCode: '413',
      responseHeaders: cors,
      templates: body('Request body is too large'),
    });
    api.addGatewayResponse('Timeout', {
      type: ResponseType.INTEGRATION_TIMEOUT,
      statusCode: '504',
      responseHeaders: cors,
      templates: body('Endpoint request timed out'),
    });
    api.addGatewayResponse('Default4xx', {
      type: ResponseType.DEFAULT_4XX,
      responseHeaders: cors,
      templates: { 'application/json': '{"success":false,"error":$context.error.messageString}' },
    });
    api.addGatewayResponse('Default5xx', {
      type: ResponseType.DEFAULT_5XX,
      responseHeaders: cors,
      templates: body('Internal server error'),
    });
  }

  private addAlarms(api: RestApi, table: Table, topicArn: string | undefined) {
    const action: IAlarmAction | undefined = topicArn
      ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', topicArn))
      : undefined;
    const alarm = (id: string, props: ConstructorParameters<typeof Alarm>[2]) => {
      const created = new Alarm(this, id, {
        treatMissingData: TreatMissingData.NOT_BREACHING,
        ...props,
      });
      if (action) created.addAlarmAction(action);
    };
    alarm('Api5xx', {
      metric: api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'API Gateway answered 5 or more 5xx in 5 minutes',
    });
    for (const [name, chat] of this.functions) {
      alarm(`${name}-Errors`, {
        metric: chat.fn.metricErrors({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `${name}: the function failed (an unhandled error or a timeout)`,
      });
      alarm(`${name}-Throttles`, {
        metric: chat.fn.metricThrottles({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `${name}: Lambda throttled invocations (concurrency limit)`,
      });
    }
    alarm('DynamoDbThrottles', {
      metric: table.metricThrottledRequestsForOperations({
        operations: [
          Operation.GET_ITEM,
          Operation.PUT_ITEM,
          Operation.UPDATE_ITEM,
          Operation.QUERY,
          Operation.BATCH_WRITE_ITEM,
          Operation.DELETE_ITEM,
        ],
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'DynamoDB throttled requests on the messages table',
    });
  }

  private addWaf(api: RestApi, limit: number) {
    const acl = new CfnWebACL(this, 'Waf', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        metricName: 'ai-chat-waf',
        sampledRequestsEnabled: true,
      },
      rules: [
        {
          name: 'rate-per-ip',
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP' } },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: 'rate-per-ip',
            sampledRequestsEnabled: true,
          },
        },
      ],
    });
    new CfnWebACLAssociation(this, 'WafAssociation', {
      resourceArn: api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });
  }
}
