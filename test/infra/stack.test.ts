import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import nag from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#api/routes.ts';
import { TABLE } from '#store/table.ts';
import { DEFAULT_CONFIG, kindOf, RESERVED_CONCURRENCY_SETTING } from '../../infra/config.ts';
import { KEY_ALIAS } from '../../infra/stack.ts';
import { functionOf, idsOf, type Resource, synth } from './synth.ts';

type Statement = {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
  Principal?: { AWS?: unknown; Service?: unknown };
};

let template: Template;
let nagFailure: Error | undefined;
let resources: Record<string, Resource>;

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

const functions = () => Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
const roleOf = (method: string, path: string) =>
  resources[functionOf(resources, method, path)]?.Properties.Role['Fn::GetAtt'][0] as string;
const KEY_CONDITION = {
  StringEquals: { 'kms:EncryptionContext:purpose': 'openai-api-key' },
  Null: { 'kms:EncryptionContext:user_id': 'false' },
};

beforeAll(() => {
  const built = synth({ allowedOrigins: 'https://app.example' }, { bundle: true, validate: true });
  nagFailure = built.failure;
  template = built.template;
  resources = built.resources;
}, 120_000);

describe('the stack', () => {
  it('passes cdk-nag (AwsSolutions) and CloudFormation Validate with only the reviewed acknowledgements', () => {
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
    const ids = routes.map((route) => functionOf(resources, route.method, route.path));

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
    const [table] = idsOf(resources, 'AWS::DynamoDB::Table');
    const [key] = idsOf(resources, 'AWS::KMS::Key').filter((id) => id.startsWith('ApiKeyKey'));
    const [jwtSecret] = idsOf(resources, 'AWS::SecretsManager::Secret');
    for (const route of routes) {
      const fnId = functionOf(resources, route.method, route.path);
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
          Condition: KEY_CONDITION,
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
      const kms = actionsOf(statementsOf(functionOf(resources, route.method, route.path))).filter(
        (a) => a.startsWith('kms:'),
      );
      const expected = [
        ...(route.handler === 'put-api-key' ? ['kms:Encrypt'] : []),
        ...(route.model ? ['kms:Decrypt'] : []),
      ];
      expect(kms, route.handler).toEqual(expected);
    }
  });

  it("splits the API-key key's policy: the account administers it and cannot use it; only the functions' roles use it, for the API-key purpose", () => {
    const [key] = idsOf(resources, 'AWS::KMS::Key').filter((id) => id.startsWith('ApiKeyKey'));
    const statements = resources[key as string]?.Properties.KeyPolicy.Statement as Statement[];
    const admin = statements.find((s) => s.Sid === 'Administration');
    const adminActions = [admin?.Action].flat() as string[];

    expect(JSON.stringify(admin?.Principal)).toContain(':root');
    expect(adminActions).toEqual(
      expect.arrayContaining(['kms:PutKeyPolicy', 'kms:EnableKeyRotation']),
    );
    expect(adminActions).not.toContain('kms:*');
    for (const use of ['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'CreateGrant']) {
      expect(
        adminActions.some((action) => action.startsWith(`kms:${use}`)),
        use,
      ).toBe(false);
    }
    const users = statements.filter((s) => s.Sid !== 'Administration');
    const principals = (s: Statement | undefined) =>
      [s?.Principal?.AWS]
        .flat()
        .map((p) => (p as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0])
        .sort();
    expect(users.map((s) => s.Action).sort()).toEqual(['kms:Decrypt', 'kms:Encrypt']);
    for (const s of users) expect(s.Condition).toEqual(KEY_CONDITION);
    expect(principals(users.find((s) => s.Action === 'kms:Encrypt'))).toEqual(
      routes.filter((r) => r.kms.includes('kms:Encrypt')).map((r) => roleOf(r.method, r.path)),
    );
    expect(principals(users.find((s) => s.Action === 'kms:Decrypt'))).toEqual(
      routes
        .filter((r) => r.kms.includes('kms:Decrypt'))
        .map((r) => roleOf(r.method, r.path))
        .sort(),
    );
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
      const fnId = functionOf(resources, route.method, route.path);
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

  it('runs every function on Node 24, ARM64, untraced, writing metrics to its namespace, with its own log group', () => {
    expect(functions()).toHaveLength(routes.length);
    for (const fn of functions()) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Environment: {
          Variables: expect.objectContaining({ POWERTOOLS_METRICS_NAMESPACE: 'AiChatHistory' }),
        },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      expect(fn.Properties.TracingConfig).toBeUndefined();
      expect(fn.Metadata).toMatchObject({
        'aws:asset:path': expect.any(String),
        'aws:asset:property': 'Code',
      });
    }
  });

  it("reserves each function its kind's concurrency (derived from the route's model and stream fields), within the account's quota", () => {
    let total = 0;
    for (const route of routes) {
      const fn = resources[functionOf(resources, route.method, route.path)];
      const kind = route.model
        ? route.stream
          ? 'modelStream'
          : 'model'
        : route.stream
          ? 'stream'
          : 'request';
      const reserved = DEFAULT_CONFIG[RESERVED_CONCURRENCY_SETTING[kind]];

      expect(kindOf(route), route.handler).toBe(kind);
      expect(fn?.Properties.ReservedConcurrentExecutions, route.handler).toBe(reserved);
      total += reserved;
    }
    // AWS keeps at least 10 executions unreserved in every account.
    expect(total).toBeLessThanOrEqual(DEFAULT_CONFIG.accountConcurrency - 10);
    // The streams hold a function for minutes: they are the ones a single user could pile up.
    expect(DEFAULT_CONFIG.reservedConcurrencyModelStream).toBeGreaterThanOrEqual(
      DEFAULT_CONFIG.reservedConcurrencyRequest,
    );
  });

  it('keeps secrets out of environment variables: functions get secret ARNs, and the JWT secret outlives the stack', () => {
    for (const fn of functions()) {
      const env = fn.Properties.Environment.Variables;
      expect(env.JWT_SECRET).toBeUndefined();
      expect(env.OPENAI_API_KEY).toBeUndefined();
      expect(env.JWT_SECRET_ARN).toEqual({ Ref: expect.any(String) });
    }
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('creates no fallback-key secret, and tells no function of one, unless one is configured', () => {
    for (const fn of functions()) {
      expect(fn.Properties.Environment.Variables.OPENAI_API_KEY_SECRET_ARN).toBeUndefined();
    }
    for (const route of routes) {
      const secrets = statementsOf(functionOf(resources, route.method, route.path)).filter(
        (s) => s.Action === 'secretsmanager:GetSecretValue',
      );
      expect(secrets.length, route.handler).toBeLessThanOrEqual(1);
    }
  });

  it('keeps the table on demand, recoverable, protected from deletion and retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
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

  it('uses customer-managed KMS keys with rotation, retained, the API-key one with its alias', () => {
    template.resourceCountIs('AWS::KMS::Key', 2);
    for (const id of idsOf(resources, 'AWS::KMS::Key')) {
      expect(resources[id]).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: { EnableKeyRotation: true },
      });
    }
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: KEY_ALIAS });
  });

  it('keeps every log group for the configured days, retained on destroy, encrypted with the stack key CloudWatch Logs may use', () => {
    const [opsKey] = idsOf(resources, 'AWS::KMS::Key').filter((id) => id.startsWith('OpsKey'));
    const logGroups = idsOf(resources, 'AWS::Logs::LogGroup');

    expect(logGroups).toHaveLength(routes.length + 1);
    for (const id of logGroups) {
      expect(resources[id], id).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: {
          RetentionInDays: DEFAULT_CONFIG.logRetentionDays,
          KmsKeyId: { 'Fn::GetAtt': [opsKey, 'Arn'] },
        },
      });
    }
    const statements = resources[opsKey as string]?.Properties.KeyPolicy.Statement as Statement[];
    const logs = statements.find((s) => s.Sid === 'CloudWatchLogs');
    expect(JSON.stringify(logs?.Principal?.Service)).toContain('"logs."');
    expect(JSON.stringify(logs?.Principal?.Service)).toContain('AWS::Region');
    expect(JSON.stringify(logs?.Condition)).toContain('kms:EncryptionContext:aws:logs:arn');
    expect(JSON.stringify(logs?.Condition)).toContain(':log-group:*');
  });

  it('logs access as JSON without client IPs, user agents or paths that name users', () => {
    const stage = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Stage');
    const format = stage?.Properties.AccessLogSetting.Format as string;
    const fields = JSON.parse(format);

    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
    });
    for (const personal of [
      'sourceIp',
      'userAgent',
      'identity',
      '$context.path',
      'caller',
      'user',
    ]) {
      expect(format, personal).not.toContain(personal);
    }
  });

  it("throttles each route by the stage's default, the model routes lower, and holds the same limits in a usage plan for API-key callers", () => {
    const stage = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Stage');
    const settings = stage?.Properties.MethodSettings as Record<string, unknown>[];

    expect(stage?.Properties).toMatchObject({ StageName: 'prod', TracingEnabled: false });
    expect(settings).toContainEqual(
      expect.objectContaining({
        ResourcePath: '/*',
        HttpMethod: '*',
        ThrottlingRateLimit: DEFAULT_CONFIG.throttleRatePerSecond,
        ThrottlingBurstLimit: DEFAULT_CONFIG.throttleBurst,
      }),
    );
    const modelRoutes = routes.filter((route) => route.model);
    for (const route of modelRoutes) {
      expect(settings, route.handler).toContainEqual(
        expect.objectContaining({
          ResourcePath: route.path.replaceAll('/', '~1').replace(/^/, '/'),
          HttpMethod: route.method,
          ThrottlingRateLimit: DEFAULT_CONFIG.modelThrottleRatePerSecond,
          ThrottlingBurstLimit: DEFAULT_CONFIG.modelThrottleBurst,
        }),
      );
    }
    expect(settings).toHaveLength(modelRoutes.length + 1);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      ApiStages: [Match.objectLike({ Stage: { Ref: Match.stringLikeRegexp('Stage') } })],
      Throttle: {
        RateLimit: DEFAULT_CONFIG.throttleRatePerSecond,
        BurstLimit: DEFAULT_CONFIG.throttleBurst,
      },
    });
  });

  it('answers CORS preflights for the configured origin, and functions allow exactly it', () => {
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
    for (const fn of functions()) {
      expect(fn.Properties.Environment.Variables.ALLOWED_ORIGINS).toBe('https://app.example');
    }
  });

  it('puts the AWS managed common and known-bad-inputs rules and per-IP and per-token rate rules in front of the API', () => {
    const [acl] = Object.values(resources).filter((r) => r.Type === 'AWS::WAFv2::WebACL');
    // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON
    const rules = acl?.Properties.Rules as Record<string, any>[];
    const managed = (name: string) =>
      rules.find((r) => r.Statement.ManagedRuleGroupStatement?.Name === name);

    expect(acl?.Properties).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    expect(rules.find((r) => r.Name === 'rate-per-ip')).toMatchObject({
      Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
      Statement: {
        RateBasedStatement: { Limit: DEFAULT_CONFIG.wafRequestsPer5Min, AggregateKeyType: 'IP' },
      },
    });
    expect(rules.find((r) => r.Name === 'rate-per-token')).toMatchObject({
      Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
      Statement: {
        RateBasedStatement: {
          Limit: DEFAULT_CONFIG.wafTokenRequestsPer5Min,
          AggregateKeyType: 'CUSTOM_KEYS',
          CustomKeys: [{ Header: { Name: 'authorization' } }],
        },
      },
    });
    for (const name of ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet']) {
      const rule = managed(name);
      expect(rule, name).toMatchObject({ OverrideAction: { None: {} } });
      // Only rules that read the body (free chat text) are counted; the rest block.
      const counted = rule?.Statement.ManagedRuleGroupStatement.RuleActionOverrides.map(
        (o: { Name: string; ActionToUse: unknown }) => {
          expect(o.ActionToUse).toEqual({ Count: {} });
          return o.Name;
        },
      );
      expect(counted.length, name).toBeGreaterThan(0);
      for (const ruleName of counted) expect(ruleName).toMatch(/_BODY$/);
    }
    const body = JSON.parse(acl?.Properties.CustomResponseBodies['too-many-requests'].Content);
    expect(body).toEqual({ success: false, error: expect.any(String) });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: Match.anyValue(),
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Waf'), 'Arn'] },
    });
  });

  it('synthesizes for any region: no region is written into an ARN or anywhere else in the resources', () => {
    const text = JSON.stringify(resources);

    expect(text).not.toMatch(/\b(us|eu|ap|sa|ca|me|af|il|mx)(-gov)?-[a-z]+-\d\b/);
    expect(text).toContain('"Ref":"AWS::Region"');
  });

  it('outputs the API URL, the table name, the key alias, the JWT secret, the alarm topic and the dashboard', () => {
    const outputs = Object.keys(template.toJSON().Outputs);

    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'TableName',
        'KeyAlias',
        'JwtSecretArn',
        'AlarmTopicArn',
        'DashboardUrl',
      ]),
    );
  });
});

describe('stack options', () => {
  it('without allowedOrigins allows no cross-origin caller: no preflight, no origin in any answer, and synth says so', () => {
    const { template: t, resources: r, stack } = synth();

    expect(Object.values(r).some((x) => x.Properties?.HttpMethod === 'OPTIONS')).toBe(false);
    for (const fn of Object.values(r).filter((x) => x.Type === 'AWS::Lambda::Function')) {
      expect(fn.Properties.Environment.Variables.ALLOWED_ORIGINS).toBe('');
    }
    for (const response of Object.values(r).filter(
      (x) => x.Type === 'AWS::ApiGateway::GatewayResponse',
    )) {
      expect(response.Properties.ResponseParameters ?? {}).toEqual({});
    }
    expect(JSON.stringify(t.toJSON())).not.toContain('Access-Control-Allow-Origin');
    const warnings = stack.node.metadata.filter((m) => m.type === 'aws:cdk:warning');
    expect(JSON.stringify(warnings)).toContain('allowedOrigins is not set');
  });

  it('allows any origin only when * is asked for', () => {
    const { template: t } = synth({ allowedOrigins: '*' });

    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'OPTIONS',
      Integration: Match.objectLike({
        IntegrationResponses: [
          Match.objectLike({
            ResponseParameters: Match.objectLike({
              'method.response.header.Access-Control-Allow-Origin': "'*'",
            }),
          }),
        ],
      }),
    });
  });

  it('turns the WAF off with waf=false, and cdk-nag accepts that with its reason', () => {
    const { template: t, failure } = synth({ waf: 'false', allowedOrigins: 'https://app.example' });

    expect(failure?.message).toBeUndefined();
    t.resourceCountIs('AWS::WAFv2::WebACL', 0);
    t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
  });

  it('uses an existing fallback-key secret when its ARN is given: no secret created, read only by the functions that call the model', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai-fallback-AbC123';
    const { template: t, resources: r } = synth({ fallbackOpenAiKeySecretArn: arn });

    t.resourceCountIs('AWS::SecretsManager::Secret', 1);
    for (const route of routes) {
      const fn = r[functionOf(r, route.method, route.path)];
      expect(fn?.Properties.Environment.Variables.OPENAI_API_KEY_SECRET_ARN, route.handler).toBe(
        route.model ? arn : undefined,
      );
      const role = fn?.Properties.Role['Fn::GetAtt'][0];
      const reads = Object.values(r)
        .filter((x) => x.Type === 'AWS::IAM::Policy' && x.Properties.Roles[0].Ref === role)
        .flatMap((x) => x.Properties.PolicyDocument.Statement)
        .filter((s: Statement) => s.Resource === arn);
      expect(reads, route.handler).toEqual(
        route.model ? [expect.objectContaining({ Action: 'secretsmanager:GetSecretValue' })] : [],
      );
    }
  });

  it('names the configured principals, not the account, as the keys administrators', () => {
    const admin = 'arn:aws:iam::123456789012:role/KeyAdmins';
    const deployer =
      'arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1';
    const { resources: r } = synth({ keyAdminArns: `${admin},${deployer}` });

    for (const id of idsOf(r, 'AWS::KMS::Key')) {
      const statements = r[id]?.Properties.KeyPolicy.Statement as Statement[];
      const administration = statements.find((s) => s.Sid === 'Administration');
      expect(administration?.Principal?.AWS, id).toEqual([admin, deployer]);
      expect(JSON.stringify(statements), id).not.toContain(':root');
    }
  });

  it('keeps logs for the configured days, and switches to JWKS mode without a JWT secret', () => {
    const { template: t, resources: r } = synth({
      logRetentionDays: '90',
      jwksUrl: 'https://idp.example/jwks.json',
    });

    for (const id of idsOf(r, 'AWS::Logs::LogGroup')) {
      expect(r[id]?.Properties.RetentionInDays).toBe(90);
    }
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'POST /api/chat/ai/send',
      Environment: {
        Variables: Match.objectLike({ JWKS_URL: 'https://idp.example/jwks.json' }),
      },
    });
  });

  it('reserves nothing for a kind set to 0 (Lambda would read 0 as "never run")', () => {
    const { resources: r } = synth({
      reservedConcurrencyModelStream: 0,
      reservedConcurrencyModel: 0,
      reservedConcurrencyStream: 0,
      reservedConcurrencyRequest: '0',
    });

    for (const fn of Object.values(r).filter((x) => x.Type === 'AWS::Lambda::Function')) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
    expect(Object.keys(r).some((id) => id.includes('Concurrency'))).toBe(false);
  });
});
