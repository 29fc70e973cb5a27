import {
  Annotations,
  Aws,
  CfnOutput,
  CfnRule,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import {
  AccessLogFormat,
  Cors,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  type MethodDeploymentOptions,
  MethodLoggingLevel,
  ResponseTransferMode,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
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
import {
  AccountRootPrincipal,
  ArnPrincipal,
  Effect,
  type IPrincipal,
  PolicyDocument,
  PolicyStatement,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { encryptionContext } from '#adapters/key-vault.ts';
import type { DynamoAction, RouteSpec } from '#api/route-spec.ts';
import { CORS_ALLOW_HEADERS, routes } from '#api/routes.ts';
import { TABLE } from '#store/table.ts';
import { ChatFunction, METRICS_NAMESPACE, SERVICE_NAME } from './chat-function.ts';
import {
  RESERVED_CONCURRENCY_SETTING,
  reservationOf,
  resolveConfig,
  type StackConfig,
} from './config.ts';

export interface ChatHistoryStackProps extends StackProps {
  /** Overrides the settings read from CDK context (checked the same way). */
  config?: Partial<StackConfig>;
}

export const KEY_ALIAS = 'alias/ai-chat-history';
const KEY_PURPOSE = encryptionContext('').purpose;

/**
 * What `sam local invoke --env-vars test/events/sam-env.json` overrides besides the variables
 * every function declares anyway: SAM passes a function only the variables its template
 * declares, so the `samLocal` synth declares these (empty) on every function.
 */
export const SAM_LOCAL_VARIABLES = [
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_KMS',
  'JWT_SECRET',
  'OPENAI_BASE_URL',
  'OPENAI_API_KEY',
] as const;

/**
 * KMS administration without use: no `Encrypt`, `Decrypt`, `ReEncrypt*`, `GenerateDataKey*` or
 * `CreateGrant` (a grant would let an administrator hand use to anyone). `PutKeyPolicy` stays,
 * as CloudFormation needs it to keep the policy up to date (and KMS refuses a policy that takes
 * it from whoever sets it); a change of policy is in CloudTrail.
 */
const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/**
 * The table operation behind each IAM action a route names: `ConditionCheckItem` only exists
 * inside a `TransactWriteItems` (regenerate's swap of the last reply).
 */
const OPERATION_OF: Record<DynamoAction, Operation> = {
  'dynamodb:GetItem': Operation.GET_ITEM,
  'dynamodb:PutItem': Operation.PUT_ITEM,
  'dynamodb:UpdateItem': Operation.UPDATE_ITEM,
  'dynamodb:DeleteItem': Operation.DELETE_ITEM,
  'dynamodb:Query': Operation.QUERY,
  'dynamodb:BatchGetItem': Operation.BATCH_GET_ITEM,
  'dynamodb:BatchWriteItem': Operation.BATCH_WRITE_ITEM,
  'dynamodb:ConditionCheckItem': Operation.TRANSACT_WRITE_ITEMS,
};

/** Every table operation the routes use. */
export const TABLE_OPERATIONS = [
  ...new Set(routes.flatMap((route) => route.dynamodb.map((action) => OPERATION_OF[action]))),
];

/**
 * What each alarm watches for, and why the figure means trouble. Periods are 5 minutes unless
 * said otherwise; "N of M" is how many periods in a row must breach.
 */
export const ALARM_THRESHOLDS = {
  /** % of answers that are 5xx (an outage or a bug), given at least `minRequests`, 2 of 3. */
  api5xxPercent: 5,
  /** % of answers that are 4xx (a broken client, a rotated JWT secret), 3 of 3. */
  api4xxPercent: 30,
  /** Requests in a period below which the rates are not judged (a few errors are noise)... */
  minRequests: 20,
  /** ...unless this many 5xx came anyway (an outage at low traffic). */
  api5xxCount: 5,
  /** p95 milliseconds of a buffered model route (its model deadline is 25 s), 3 of 3. */
  modelRouteP95Ms: 20_000,
  /** p95 milliseconds of every other buffered route, 3 of 3. */
  requestRouteP95Ms: 3_000,
  /** Crashes, timeouts and throttled invocations of one function in a period. */
  functionFailures: 3,
  /** % of a function's reserved concurrency in use, for 3 minutes in a row. */
  concurrencyPercent: 80,
  /** DynamoDB throttled requests in a period, all operations together. */
  dynamoThrottles: 10,
  /** % of model calls that failed on the model's side (not a user's own rejected key), 2 of 3. */
  modelFailurePercent: 10,
  /** Model calls in a period below which the failure rate is not judged. */
  minModelCalls: 10,
  /** p95 milliseconds until a model's first piece of text, 3 of 3. */
  firstTokenP95Ms: 10_000,
} as const;

/**
 * The WAF's managed rules that read request bodies, counted rather than blocking: a chat
 * message is free text that legitimately holds code, markup, paths and URLs (a question about
 * `<script>`, `../`, `169.254.169.254` or `${jndi:...}`), stored as data and shown as text, and
 * the service runs on Node, not Java. The rules that read headers, paths and query strings block.
 */
export const WAF_BODY_RULES_COUNTED = {
  AWSManagedRulesCommonRuleSet: [
    'SizeRestrictions_BODY',
    'CrossSiteScripting_BODY',
    'GenericLFI_BODY',
    'GenericRFI_BODY',
    'EC2MetaDataSSRF_BODY',
  ],
  AWSManagedRulesKnownBadInputsRuleSet: ['JavaDeserializationRCE_BODY', 'Log4JRCE_BODY'],
};

/** Everything the service needs in AWS, from the route table. */
export class ChatHistoryStack extends Stack {
  /** Each route's function, by handler name (for tests and for SAM). */
  readonly functions = new Map<string, ChatFunction>();
  /** Every alarm, each notifying `alarmTopic`. */
  readonly alarms: Alarm[] = [];
  readonly config: StackConfig;
  readonly alarmTopic: ITopic;

  constructor(scope: Construct, id: string, props: ChatHistoryStackProps = {}) {
    super(scope, id, props);
    const config = resolveConfig(this.node, props.config);
    this.config = config;
    const stage = 'prod';
    if (config.allowedOrigins.length === 0) {
      Annotations.of(this).addWarningV2(
        'ai-chat:no-allowed-origins',
        'allowedOrigins is not set: no browser on another origin may call the API. Set -c allowedOrigins=https://your.app (or * to allow any origin)',
      );
    }

    const admins: IPrincipal[] =
      config.keyAdminArns.length > 0
        ? config.keyAdminArns.map((arn) => new ArnPrincipal(arn))
        : [new AccountRootPrincipal()];
    const administration = new PolicyStatement({
      sid: 'Administration',
      principals: admins,
      actions: KEY_ADMIN_ACTIONS,
      resources: ['*'],
    });

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

    // Use is granted below, to the functions' roles only, for the API-key purpose only.
    const key = new Key(this, 'ApiKeyKey', {
      alias: KEY_ALIAS,
      description: "Encrypts users' model API keys (encryption context names the user)",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new PolicyDocument({ statements: [administration] }),
    });
    // The logs and the alarm topic: used by the services that write them, never by a function.
    const opsKey = new Key(this, 'OpsKey', {
      description: 'Encrypts the service logs and its alarm notifications',
      enableKeyRotation: true,
      // Retained with the logs it encrypts: without it they could never be read again.
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new PolicyDocument({ statements: [administration] }),
    });
    opsKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchLogs',
        principals: [new ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: [
          'kms:Encrypt*',
          'kms:Decrypt*',
          'kms:ReEncrypt*',
          'kms:GenerateDataKey*',
          'kms:Describe*',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );

    const jwtSecret = config.jwksUrl
      ? undefined
      : new Secret(this, 'JwtSecret', {
          description:
            'HS256 secret shared with the app that issues access tokens (set it to the Flask JWT_SECRET_KEY)',
          generateSecretString: { passwordLength: 64, excludePunctuation: true },
          // Its value is shared with the app that issues tokens: a destroy must not lose it.
          removalPolicy: RemovalPolicy.RETAIN,
        });
    // Not created here: a created secret would need a placeholder value until someone set it,
    // and users without a key would get "key rejected" from it. Without the setting, functions
    // get no OPENAI_API_KEY_SECRET_ARN, which is how they know there is no fallback key.
    const fallbackKeyArn = config.fallbackOpenAiKeySecretArn;

    const common: Record<string, string> = {
      TABLE_NAME: table.tableName,
      // Empty: no origin is allowed (lib reads the list; `*` only when configured).
      ALLOWED_ORIGINS: config.allowedOrigins.join(','),
      ...(jwtSecret
        ? { JWT_SECRET_ARN: jwtSecret.secretArn }
        : { JWKS_URL: config.jwksUrl as string }),
      ...(config.jwtIssuer ? { JWT_ISSUER: config.jwtIssuer } : {}),
      ...(config.jwtAudience ? { JWT_AUDIENCE: config.jwtAudience } : {}),
      ...(config.samLocal ? Object.fromEntries(SAM_LOCAL_VARIABLES.map((name) => [name, ''])) : {}),
    };
    const modelEnv: Record<string, string> = {
      OPENAI_MODEL: config.openAiModel,
      ...(config.openAiBaseUrl ? { OPENAI_BASE_URL: config.openAiBaseUrl } : {}),
      ...(fallbackKeyArn ? { OPENAI_API_KEY_SECRET_ARN: fallbackKeyArn } : {}),
    };

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays,
      encryptionKey: opsKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const modelMethods: Record<string, MethodDeploymentOptions> = Object.fromEntries(
      routes
        .filter((route) => route.model)
        .map((route) => [
          `${route.path}/${route.method}`,
          {
            throttlingRateLimit: config.modelThrottleRatePerSecond,
            throttlingBurstLimit: config.modelThrottleBurst,
          },
        ]),
    );
    const api = new RestApi(this, 'Api', {
      // CloudWatch names an API's metrics by this, so two stacks in one account stay apart.
      restApiName: this.stackName,
      description: 'AI chat history',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: {
        stageName: stage,
        // The stage's default for each method; the model routes get their own, lower limits.
        throttlingRateLimit: config.throttleRatePerSecond,
        throttlingBurstLimit: config.throttleBurst,
        methodOptions: modelMethods,
        // No X-Ray (see ChatFunction): the functions' metrics and the access logs cover it.
        tracingEnabled: false,
        // Per-method metrics are billed as custom metrics (about 90 here, ~$27 a month); a
        // route's latency is its own function's Duration, since each route has one.
        metricsEnabled: false,
        loggingLevel: MethodLoggingLevel.OFF,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: accessLogFormat(),
      },
      ...(config.allowedOrigins.length > 0
        ? {
            defaultCorsPreflightOptions: {
              allowOrigins: config.allowedOrigins.includes('*')
                ? Cors.ALL_ORIGINS
                : config.allowedOrigins,
              allowHeaders: CORS_ALLOW_HEADERS,
              allowMethods: Cors.ALL_METHODS,
              maxAge: Duration.minutes(10),
            },
          }
        : {}),
    });
    this.addGatewayResponses(api, config.allowedOrigins);

    const encrypters: ChatFunction[] = [];
    const decrypters: ChatFunction[] = [];
    for (const route of routes) {
      const chat = new ChatFunction(this, `Route-${route.handler}`, {
        route,
        logRetention: config.logRetentionDays,
        logKey: opsKey,
        reservedConcurrency: reservationOf(config, route),
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
      if (route.kms.includes('kms:Encrypt')) encrypters.push(chat);
      if (route.kms.includes('kms:Decrypt')) decrypters.push(chat);
      if ((route.auth || route.checksJwtSecret) && jwtSecret)
        this.grantSecret(chat, jwtSecret.secretArn);
      if (route.model && fallbackKeyArn) this.grantSecret(chat, fallbackKeyArn);
      const integration = route.stream
        ? new LambdaIntegration(chat.fn, {
            responseTransferMode: ResponseTransferMode.STREAM,
            timeout: Duration.seconds(route.timeoutSeconds),
          })
        : new LambdaIntegration(chat.fn);
      api.root.resourceForPath(route.path).addMethod(route.method, integration);
    }
    // The key's own policy names who may use it, so no IAM policy elsewhere in the account
    // can grant its use: the account root only administers it.
    for (const [sid, action, users] of [
      ['StoreUserKeys', 'kms:Encrypt', encrypters],
      ['ReadUserKeys', 'kms:Decrypt', decrypters],
    ] as const) {
      key.addToResourcePolicy(
        new PolicyStatement({
          sid,
          principals: users.map((chat) => chat.fn.role as IPrincipal),
          actions: [action],
          resources: ['*'],
          conditions: keyConditions(),
        }),
      );
    }

    // Usage plans meter API keys, and no route asks for one (browsers cannot keep one
    // secret): this plan holds the stage's limits for callers given a key later (a server-side
    // integration), while the per-method throttles above and the WAF's rate rules bound
    // everyone else.
    api.addUsagePlan('UsagePlan', {
      name: `${this.stackName}-default`,
      description:
        'Per-API-key limits for callers given a key; every caller is also bounded by the stage throttles and the WAF',
      throttle: { rateLimit: config.throttleRatePerSecond, burstLimit: config.throttleBurst },
      apiStages: [{ api, stage: api.deploymentStage }],
    });

    this.alarmTopic = this.alarmTopicFor(config, opsKey);
    this.addAlarms(api, table);
    const dashboard = this.addDashboard(api, table, stage);
    if (config.waf) this.addWaf(api, config);
    if (config.samLocal) {
      new CfnRule(this, 'SamLocalOnly', {
        assertions: [
          {
            assert: Fn.conditionEquals('samLocal', 'deploy'),
            assertDescription:
              'This template was synthesized with -c samLocal=true for sam local invoke; synthesize without it to deploy',
          },
        ],
      });
    }

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'Point the frontend here' });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'KeyAlias', { value: KEY_ALIAS });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboard.dashboardName}`,
    });
    if (jwtSecret) new CfnOutput(this, 'JwtSecretArn', { value: jwtSecret.secretArn });
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
          conditions: keyConditions(),
        }),
      );
    }
  }

  /** Read-only, value only: the function fetches the secret once, at cold start. */
  private grantSecret(chat: ChatFunction, secretArn: string) {
    chat.fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn],
      }),
    );
  }

  /**
   * The gateway's own errors (unknown route, throttling) in the API's error shape, with CORS
   * when origins are allowed. A gateway response cannot pick an origin from a list, so with
   * several allowed origins it echoes the caller's: these answers carry no user data, only the
   * gateway's error.
   */
  private addGatewayResponses(api: RestApi, origins: string[]) {
    const cors: Record<string, string> =
      origins.length === 0
        ? {}
        : origins.includes('*')
          ? { 'Access-Control-Allow-Origin': "'*'" }
          : origins.length === 1
            ? { 'Access-Control-Allow-Origin': `'${origins[0]}'` }
            : { 'Access-Control-Allow-Origin': 'method.request.header.Origin', Vary: "'Origin'" };
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

  /** The topic every alarm notifies: the configured one, or the stack's own (encrypted). */
  private alarmTopicFor(config: StackConfig, key: Key): ITopic {
    if (config.alarmTopicArn) return Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: `${this.stackName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // CloudWatch publishes the alarms, so it must be able to encrypt for the topic.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    if (config.alarmEmail) topic.addSubscription(new EmailSubscription(config.alarmEmail));
    else {
      Annotations.of(this).addWarningV2(
        'ai-chat:no-alarm-recipient',
        'Nobody is subscribed to the alarm topic: set -c alarmEmail=you@example.com (or alarmTopicArn), or subscribe to the AlarmTopicArn output',
      );
    }
    return topic;
  }

  private alarm(id: string, props: ConstructorParameters<typeof Alarm>[2]) {
    const alarm = new Alarm(this, id, {
      treatMissingData: TreatMissingData.NOT_BREACHING,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...props,
    });
    const action = new SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    // ...and when it clears, so whoever was paged knows.
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }

  private addAlarms(api: RestApi, table: Table) {
    const t = ALARM_THRESHOLDS;
    const period = Duration.minutes(5);
    const requests = api.metricCount({ period, statistic: 'Sum' });
    this.alarm('Api5xxRate', {
      metric: new MathExpression({
        expression: `IF(requests >= ${t.minRequests}, 100 * errors / requests, IF(errors >= ${t.api5xxCount}, 100, 0))`,
        usingMetrics: { requests, errors: api.metricServerError({ period, statistic: 'Sum' }) },
        period,
        label: '5xx, % of requests',
      }),
      threshold: t.api5xxPercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      alarmDescription: `${t.api5xxPercent}% or more of the API's answers were 5xx (an outage or a bug; ${t.api5xxCount}+ at low traffic) in 2 of 3 five-minute periods`,
    });
    this.alarm('Api4xxRate', {
      metric: new MathExpression({
        expression: `IF(requests >= ${t.minRequests}, 100 * errors / requests, 0)`,
        usingMetrics: { requests, errors: api.metricClientError({ period, statistic: 'Sum' }) },
        period,
        label: '4xx, % of requests',
      }),
      threshold: t.api4xxPercent,
      evaluationPeriods: 3,
      alarmDescription: `${t.api4xxPercent}% or more of the API's answers were 4xx for 15 minutes (a broken client release, a rotated JWT secret, or someone probing)`,
    });

    for (const [name, chat] of this.functions) {
      const { fn, route } = chat;
      if (!route.stream) {
        // A streaming route lasts as long as its stream; its health is in the first-token
        // latency and the failures.
        const threshold = route.model ? t.modelRouteP95Ms : t.requestRouteP95Ms;
        this.alarm(`${name}-LatencyP95`, {
          metric: fn.metricDuration({ period, statistic: 'p95' }),
          threshold,
          evaluationPeriods: 3,
          alarmDescription: `${route.method} ${route.path}: p95 latency at or above ${threshold} ms for 15 minutes`,
        });
      }
      this.alarm(`${name}-Failures`, {
        metric: new MathExpression({
          expression: 'FILL(errors, 0) + FILL(throttles, 0)',
          usingMetrics: {
            errors: fn.metricErrors({ period }),
            throttles: fn.metricThrottles({ period }),
          },
          period,
          label: 'crashes, timeouts and throttles',
        }),
        threshold: t.functionFailures,
        evaluationPeriods: 1,
        alarmDescription: `${route.method} ${route.path}: ${t.functionFailures}+ invocations crashed, timed out or were throttled in 5 minutes (the handler answers every expected failure itself)`,
      });
      if (chat.reservedConcurrency > 0) {
        const threshold = Math.max(
          1,
          Math.ceil((chat.reservedConcurrency * t.concurrencyPercent) / 100),
        );
        this.alarm(`${name}-Concurrency`, {
          metric: fn.metric('ConcurrentExecutions', {
            period: Duration.minutes(1),
            statistic: 'Maximum',
          }),
          threshold,
          evaluationPeriods: 3,
          alarmDescription: `${route.method} ${route.path}: ${threshold} or more of its ${chat.reservedConcurrency} reserved executions in use for 3 minutes; past the reservation, requests are throttled (raise ${RESERVED_CONCURRENCY_SETTING[chat.kind]})`,
        });
      }
    }

    this.alarm('DynamoDbThrottles', {
      metric: table.metricThrottledRequestsForOperations({
        operations: TABLE_OPERATIONS,
        period,
      }),
      threshold: t.dynamoThrottles,
      evaluationPeriods: 1,
      alarmDescription: `DynamoDB throttled ${t.dynamoThrottles}+ requests in 5 minutes on the messages table (${TABLE_OPERATIONS.join(', ')})`,
    });
    this.alarm('ModelFailureRate', {
      metric: new MathExpression({
        expression: `IF(calls >= ${t.minModelCalls}, 100 * FILL(failures, 0) / calls, 0)`,
        usingMetrics: {
          calls: serviceMetric('ModelCalls', { period, statistic: 'Sum' }),
          failures: serviceMetric('UpstreamFailures', {
            period,
            statistic: 'Sum',
            dimensions: { Kind: 'model_unavailable' },
          }),
        },
        period,
        label: 'model failures, % of calls',
      }),
      threshold: t.modelFailurePercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      alarmDescription: `${t.modelFailurePercent}% or more of the model calls failed on the model's side (unavailable, timed out, refused) in 2 of 3 five-minute periods`,
    });
    this.alarm('ModelFirstTokenLatencyP95', {
      metric: serviceMetric('ModelFirstTokenLatency', { period, statistic: 'p95' }),
      threshold: t.firstTokenP95Ms,
      evaluationPeriods: 3,
      alarmDescription: `p95 time to the model's first piece of text at or above ${t.firstTokenP95Ms} ms for 15 minutes`,
    });
  }

  private addDashboard(api: RestApi, table: Table, stage: string) {
    const period = Duration.minutes(5);
    const chats = [...this.functions.values()];
    const perFunction = (label: string, metric: (chat: ChatFunction) => IMetric) =>
      new GraphWidget({
        title: label,
        width: 12,
        left: chats.map((chat) => metric(chat)),
      });
    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${this.stackName}-${Aws.REGION}`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${this.stackName}\nAPI stage \`${stage}\`, one function per route. Custom metrics: namespace \`${METRICS_NAMESPACE}\`, dimension \`service=${SERVICE_NAME}\`.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'API: requests, 4xx, 5xx',
        width: 12,
        left: [
          api.metricCount({ period, statistic: 'Sum' }),
          api.metricClientError({ period, statistic: 'Sum' }),
          api.metricServerError({ period, statistic: 'Sum' }),
        ],
      }),
      new GraphWidget({
        title: 'API: latency (ms)',
        width: 12,
        left: [
          api.metricLatency({ period, statistic: 'p50' }),
          api.metricLatency({ period, statistic: 'p95' }),
        ],
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Model: calls, failures by kind, 429s, replays',
        width: 12,
        left: [
          serviceMetric('ModelCalls', { period, statistic: 'Sum' }),
          ...['model_unavailable', 'model_key_rejected'].map((kind) =>
            serviceMetric('UpstreamFailures', {
              period,
              statistic: 'Sum',
              dimensions: { Kind: kind },
              label: kind,
            }),
          ),
          serviceMetric('RateLimited', { period, statistic: 'Sum' }),
          serviceMetric('IdempotentReplays', { period, statistic: 'Sum' }),
        ],
      }),
      new GraphWidget({
        title: 'Model: latency and time to first token (ms)',
        width: 12,
        left: [
          serviceMetric('ModelLatency', { period, statistic: 'p50' }),
          serviceMetric('ModelLatency', { period, statistic: 'p95' }),
          serviceMetric('ModelFirstTokenLatency', { period, statistic: 'p50' }),
          serviceMetric('ModelFirstTokenLatency', { period, statistic: 'p95' }),
        ],
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Model: tokens',
        width: 12,
        left: [
          serviceMetric('PromptTokens', { period, statistic: 'Sum' }),
          serviceMetric('CompletionTokens', { period, statistic: 'Sum' }),
        ],
      }),
      new GraphWidget({
        title: 'Dependencies failing (DynamoDB, KMS, Secrets Manager), by kind',
        width: 12,
        left: ['throttled', 'timeout', 'unreachable', 'server_error'].map((kind) =>
          serviceMetric('UpstreamFailures', {
            period,
            statistic: 'Sum',
            dimensions: { Kind: kind },
            label: kind,
          }),
        ),
      }),
    );
    dashboard.addWidgets(
      perFunction('Functions: p95 duration (ms)', (chat) =>
        chat.fn.metricDuration({ period, statistic: 'p95', label: chat.route.handler }),
      ),
      perFunction('Functions: concurrent executions (max)', (chat) =>
        chat.fn.metric('ConcurrentExecutions', {
          period: Duration.minutes(1),
          statistic: 'Maximum',
          label: chat.route.handler,
        }),
      ),
    );
    dashboard.addWidgets(
      perFunction('Functions: errors', (chat) =>
        chat.fn.metricErrors({ period, label: chat.route.handler }),
      ),
      perFunction('Functions: throttles', (chat) =>
        chat.fn.metricThrottles({ period, label: chat.route.handler }),
      ),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'DynamoDB: throttled requests by operation',
        width: 12,
        left: TABLE_OPERATIONS.map((operation) =>
          table.metric('ThrottledRequests', {
            period,
            statistic: 'Sum',
            dimensionsMap: { TableName: table.tableName, Operation: operation },
            label: operation,
          }),
        ),
      }),
      new GraphWidget({
        title: 'DynamoDB: consumed capacity units',
        width: 12,
        left: [
          table.metricConsumedReadCapacityUnits({ period, statistic: 'Sum' }),
          table.metricConsumedWriteCapacityUnits({ period, statistic: 'Sum' }),
        ],
      }),
    );
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 8 }),
    );
    return dashboard;
  }

  /**
   * AWS's managed rule groups for common exploits and known-bad inputs (their body rules
   * counted: `WAF_BODY_RULES_COUNTED`), behind two rate rules: per client IP, and per bearer
   * token (many users can share an IP behind a NAT; one token is one session). Rate-limited
   * requests get the API's own 429 shape.
   */
  private addWaf(api: RestApi, config: StackConfig) {
    const visibility = (metricName: string) => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      // WAF keeps a sample of matched requests (with their client IPs) for 3 hours.
      sampledRequestsEnabled: true,
    });
    // A WAF answer cannot echo one of several origins; with one (or `*`) the browser can read it.
    const [origin, ...others] = config.allowedOrigins;
    const corsHeader =
      origin && others.length === 0 ? [{ name: 'Access-Control-Allow-Origin', value: origin }] : [];
    const tooMany = {
      block: {
        customResponse: {
          responseCode: 429,
          customResponseBodyKey: 'too-many-requests',
          responseHeaders: [{ name: 'Retry-After', value: '60' }, ...corsHeader],
        },
      },
    };
    const managed = (
      name: keyof typeof WAF_BODY_RULES_COUNTED,
      priority: number,
    ): CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ruleActionOverrides: WAF_BODY_RULES_COUNTED[name].map((rule) => ({
            name: rule,
            actionToUse: { count: {} },
          })),
        },
      },
      visibilityConfig: visibility(name),
    });
    const rules: CfnWebACL.RuleProperty[] = [
      {
        name: 'rate-per-ip',
        priority: 0,
        action: tooMany,
        statement: {
          rateBasedStatement: { limit: config.wafRequestsPer5Min, aggregateKeyType: 'IP' },
        },
        visibilityConfig: visibility('rate-per-ip'),
      },
      ...(config.wafTokenRequestsPer5Min > 0
        ? [
            {
              name: 'rate-per-token',
              priority: 1,
              action: tooMany,
              statement: {
                rateBasedStatement: {
                  limit: config.wafTokenRequestsPer5Min,
                  aggregateKeyType: 'CUSTOM_KEYS',
                  customKeys: [
                    {
                      header: {
                        name: 'authorization',
                        textTransformations: [{ priority: 0, type: 'NONE' }],
                      },
                    },
                  ],
                },
              },
              visibilityConfig: visibility('rate-per-token'),
            },
          ]
        : []),
      managed('AWSManagedRulesKnownBadInputsRuleSet', 2),
      managed('AWSManagedRulesCommonRuleSet', 3),
    ];
    const acl = new CfnWebACL(this, 'Waf', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      customResponseBodies: {
        'too-many-requests': {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({
            success: false,
            error: 'Too many requests; try again shortly',
          }),
        },
      },
      visibilityConfig: visibility(`${this.stackName}-waf`),
      rules,
    });
    new CfnWebACLAssociation(this, 'WafAssociation', {
      resourceArn: api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });
  }
}

/** The key-use condition: the API-key purpose, for a named user. */
function keyConditions() {
  return {
    StringEquals: { 'kms:EncryptionContext:purpose': KEY_PURPOSE },
    Null: { 'kms:EncryptionContext:user_id': 'false' },
  };
}

/** One of the service's own metrics (`lib/commons/metrics.ts`), as Powertools writes it. */
function serviceMetric(
  metricName: string,
  options: {
    period: Duration;
    statistic: string;
    dimensions?: Record<string, string>;
    label?: string;
  },
) {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME, ...options.dimensions },
    period: options.period,
    statistic: options.statistic,
    ...(options.label ? { label: options.label } : {}),
  });
}

/**
 * JSON access logs without the client's IP address or user agent, and with the route's
 * template (`/api/chat/ai/history/{userId}`) instead of the path: what a request was and how
 * it went, nothing that identifies a person, so DELETE /me leaves nothing of theirs behind.
 */
function accessLogFormat() {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      requestTime: '$context.requestTime',
      httpMethod: '$context.httpMethod',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      integrationStatus: '$context.integration.status',
      wafResponseCode: '$context.wafResponseCode',
      error: '$context.error.message',
    }),
  );
}
