import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import nag from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#api/routes.ts';
import { TABLE } from '#store/table.ts';
import { acknowledgeReviewedFindings } from '../../infra/nag.ts';
import { ChatHistoryStack, KEY_ALIAS } from '../../infra/stack.ts';

type Resource = {
  Type: string;
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON
  Properties: Record<string, any>;
  Metadata?: Record<string, unknown>;
};
type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };

let template: Template;
let nagFailure: Error | undefined;
let resources: Record<string, Resource>;

/** The logical id of the function serving a route (its description is `METHOD path`). */
function functionOf(method: string, path: string): string {
  const [id] = Object.entries(resources).find(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' && r.Properties.Description === `${method} ${path}`,
  ) ?? [''];
  return id;
}

/** Every statement of the policies attached to a function's role. */
function statementsOf(functionId: string): Statement[] {
  const role = resources[functionId]?.Properties.Role['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === role),
    )
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat());

/** A statement as comparable text: actions sorted, the effect always Allow. */
function canonical(statement: Statement & { Effect?: string }): string {
  const { Action, Resource, Condition, Effect = 'Allow' } = statement;
  return JSON.stringify({ Effect, Action: [Action].flat().sort(), Resource, Condition });
}

const logicalIdsOf = (type: string) =>
  Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);

beforeAll(() => {
  // The CLI sets this context; SAM reads the metadata it adds.
  const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new ChatHistoryStack(app, 'Test', {
    config: { allowedOrigins: ['https://app.example'] },
  });
  acknowledgeReviewedFindings(stack);
  Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch (error) {
    nagFailure = error as Error;
  }
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, 120_000);

describe('the stack', () => {
  it('passes cdk-nag (AwsSolutions) with only the reviewed acknowledgements', () => {
    expect(nagFailure?.message).toBeUndefined();
  });

  it('fails synthesis on a cdk-nag finding nobody reviewed', () => {
    const app = new App();
    const stack = new Stack(app, 'Unreviewed');
    new Bucket(stack, 'Open');
    Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app));

    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });

  it('serves every route from its own function, through a Lambda proxy integration', () => {
    const ids = routes.map((route) => functionOf(route.method, route.path));

    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(routes.length);
    const methods = Object.values(resources).filter(
      (r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod !== 'OPTIONS',
    );
    expect(methods).toHaveLength(routes.length);
    for (const method of methods) {
      expect(method.Properties.Integration.Type).toBe('AWS_PROXY');
      const uri = JSON.stringify(method.Properties.Integration.Uri);
      const target = ids.filter((id) => uri.includes(`"${id}"`));
      expect(target).toHaveLength(1);
      expect(
        resources[target[0] as string]?.Properties.Description.startsWith(
          method.Properties.HttpMethod,
        ),
      ).toBe(true);
    }
  });

  it('grants each function exactly the statements its route needs: actions, resources and conditions', () => {
    const [table] = logicalIdsOf('AWS::DynamoDB::Table');
    const [key] = logicalIdsOf('AWS::KMS::Key');
    const [jwtSecret] = logicalIdsOf('AWS::SecretsManager::Secret');
    for (const route of routes) {
      const fnId = functionOf(route.method, route.path);
      const logGroup = resources[fnId]?.Properties.LoggingConfig.LogGroup.Ref;
      const expected: Statement[] = [
        {
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
        },
      ];
      if (route.dynamodb.length > 0) {
        expected.push({ Action: route.dynamodb, Resource: { 'Fn::GetAtt': [table, 'Arn'] } });
      }
      if (route.roomsIndex) {
        expected.push({
          Action: ['dynamodb:Query'],
          Resource: {
            'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, `/index/${TABLE.roomsIndex.name}`]],
          },
        });
      }
      if (route.kms.length > 0) {
        expected.push({
          Action: route.kms,
          Resource: { 'Fn::GetAtt': [key, 'Arn'] },
          Condition: {
            StringEquals: { 'kms:EncryptionContext:purpose': 'openai-api-key' },
            Null: { 'kms:EncryptionContext:user_id': 'false' },
          },
        });
      }
      if (route.auth || route.checksJwtSecret) {
        expected.push({ Action: ['secretsmanager:GetSecretValue'], Resource: { Ref: jwtSecret } });
      }

      expect(statementsOf(fnId).map(canonical).sort(), route.handler).toEqual(
        expected.map(canonical).sort(),
      );
    }
  });

  it('lets only the key-storing function encrypt and only the functions that call the model decrypt, for the API-key purpose', () => {
    for (const route of routes) {
      const kms = actionsOf(statementsOf(functionOf(route.method, route.path))).filter((a) =>
        a.startsWith('kms:'),
      );
      const expected = [
        ...(route.handler === 'put-api-key' ? ['kms:Encrypt'] : []),
        ...(route.model ? ['kms:Decrypt'] : []),
      ];
      expect(kms, route.handler).toEqual(expected);
    }
    const send = statementsOf(functionOf('POST', '/api/chat/ai/send')).find(
      (s) => s.Action === 'kms:Decrypt',
    );
    expect(send?.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:purpose': 'openai-api-key' },
      Null: { 'kms:EncryptionContext:user_id': 'false' },
    });
  });

  it('streams the streaming routes through API Gateway and buffers the others', () => {
    const methods = Object.values(resources).filter(
      (r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod !== 'OPTIONS',
    );
    const streaming = methods.filter(
      (m) => m.Properties.Integration.ResponseTransferMode === 'STREAM',
    );

    const streamed = routes.filter((route) => route.stream);
    expect(streaming).toHaveLength(streamed.length);
    for (const route of streamed) {
      const fnId = functionOf(route.method, route.path);
      const method = streaming.find((m) =>
        JSON.stringify(m.Properties.Integration.Uri).includes(fnId),
      );
      expect(JSON.stringify(method?.Properties.Integration.Uri), route.handler).toContain(
        'response-streaming-invocations',
      );
      expect(method?.Properties.Integration.TimeoutInMillis).toBe(route.timeoutSeconds * 1000);
      expect(resources[fnId]?.Properties.Timeout).toBe(route.timeoutSeconds);
    }
  });

  it('runs every function on Node 24, ARM64, untraced, writing metrics to its namespace, with its own log group and a retention', () => {
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');

    expect(functions).toHaveLength(routes.length);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Environment: {
          Variables: expect.objectContaining({ POWERTOOLS_METRICS_NAMESPACE: 'AiChatHistory' }),
        },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      expect(fn.Properties.TracingConfig).toBeUndefined();
      expect(resources[fn.Properties.LoggingConfig.LogGroup.Ref]?.Properties.RetentionInDays).toBe(
        30,
      );
      expect(fn.Metadata).toMatchObject({
        'aws:asset:path': expect.any(String),
        'aws:asset:property': 'Code',
      });
    }
  });

  it('keeps secrets out of environment variables: functions get secret ARNs', () => {
    for (const fn of Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
      const env = fn.Properties.Environment.Variables;
      expect(env.JWT_SECRET).toBeUndefined();
      expect(env.OPENAI_API_KEY).toBeUndefined();
      if (fn.Properties.Description !== 'GET /health')
        expect(env.JWT_SECRET_ARN).toEqual({ Ref: expect.any(String) });
    }
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });

  it('keeps the table on demand, recoverable, protected from deletion and retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      },
    });
  });

  it('uses a customer-managed KMS key with rotation and an alias', () => {
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true },
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: KEY_ALIAS });
  });

  it('throttles the stage, logs access as JSON, does not trace, and answers CORS preflights for the configured origin', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: false,
      AccessLogSetting: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('requestId'),
      },
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 })],
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'OPTIONS',
      Integration: Match.objectLike({
        IntegrationResponses: [
          Match.objectLike({
            ResponseParameters: Match.objectLike({
              'method.response.header.Access-Control-Allow-Origin': "'https://app.example'",
            }),
          }),
        ],
      }),
    });
  });

  it('alarms on API 5xx, function errors and throttles, and DynamoDB throttling', () => {
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    const metrics = alarms.map(
      (a) => `${a.Properties.Namespace}:${a.Properties.MetricName ?? 'expression'}`,
    );

    expect(metrics).toContain('AWS/ApiGateway:5XXError');
    expect(metrics.filter((m) => m === 'AWS/Lambda:Errors')).toHaveLength(routes.length);
    expect(metrics.filter((m) => m === 'AWS/Lambda:Throttles')).toHaveLength(routes.length);
    expect(alarms.some((a) => JSON.stringify(a.Properties).includes('ThrottledRequests'))).toBe(
      true,
    );
  });

  it('outputs the API URL, the table name and the key alias', () => {
    const outputs = Object.keys(template.toJSON().Outputs);

    expect(outputs).toEqual(
      expect.arrayContaining(['ApiUrl', 'TableName', 'KeyAlias', 'JwtSecretArn']),
    );
  });
});

describe('stack options', () => {
  it('adds a WAF rate rule, a fallback-key secret and JWKS mode when configured', () => {
    const app = new App();
    const stack = new ChatHistoryStack(app, 'Options', {
      config: {
        wafRequestsPer5Min: 500,
        fallbackOpenAiKey: true,
        jwksUrl: 'https://idp.example/jwks.json',
      },
    });
    const options = Template.fromStack(stack);

    options.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: [
        Match.objectLike({
          Statement: { RateBasedStatement: { Limit: 500, AggregateKeyType: 'IP' } },
        }),
      ],
    });
    options.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    options.resourceCountIs('AWS::SecretsManager::Secret', 1);
    options.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'POST /api/chat/ai/send',
      Environment: {
        Variables: Match.objectLike({
          JWKS_URL: 'https://idp.example/jwks.json',
          OPENAI_API_KEY_SECRET_ARN: Match.anyValue(),
        }),
      },
    });
  }, 120_000);
});
