import type { Node } from 'constructs';
import type { RouteSpec } from '#api/route-spec.ts';
import { routes } from '#api/routes.ts';

/**
 * What a function does, from its route's fields: it decides the function's reserved
 * concurrency (and so how much of the account one kind of work may take).
 * - `modelStream`: streams a model's reply (up to 5 minutes, a model call per invocation);
 * - `model`: waits for a model's reply (up to 30 s);
 * - `stream`: streams without a model (following a reply, an export: up to 5 minutes);
 * - `request`: everything else (a few DynamoDB calls).
 */
export type FunctionKind = 'modelStream' | 'model' | 'stream' | 'request';

/** The kind of a route's function. */
export function kindOf(route: RouteSpec): FunctionKind {
  if (route.model) return route.stream ? 'modelStream' : 'model';
  return route.stream ? 'stream' : 'request';
}

/** The setting that reserves concurrency for each function of a kind. */
export const RESERVED_CONCURRENCY_SETTING = {
  modelStream: 'reservedConcurrencyModelStream',
  model: 'reservedConcurrencyModel',
  stream: 'reservedConcurrencyStream',
  request: 'reservedConcurrencyRequest',
} as const satisfies Record<FunctionKind, keyof StackConfig>;

/** AWS refuses a reservation that leaves the account fewer unreserved executions than this. */
export const MIN_UNRESERVED_CONCURRENCY = 10;

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

/**
 * What a team chooses at deploy time: CDK context (`-c key=value`, or `cdk.json` under
 * `context`) or, in tests, props. Every value is checked at synth (`resolveConfig`), and a bad
 * one fails the synth with a message that names the setting.
 */
export interface StackConfig {
  /**
   * Origins a browser may call the API from. `*` allows any, and only when given explicitly.
   * Default: none (no cross-origin browser access; server-side and same-origin callers work).
   */
  allowedOrigins: string[];
  /** OIDC JWKS URL (https); when set, tokens are RS256/ES256 from it instead of HS256. Default: none. */
  jwksUrl?: string;
  /** Expected `iss`, checked when set. Default: none. */
  jwtIssuer?: string;
  /** Expected `aud`, checked when set. Default: none. */
  jwtAudience?: string;
  /** Model name. Default: `gpt-4o-mini`. */
  openAiModel: string;
  /** OpenAI-compatible base URL (https: it receives users' keys). Default: OpenAI's. */
  openAiBaseUrl?: string;
  /**
   * ARN of an existing Secrets Manager secret holding a server-wide OpenAI key, used for users
   * who stored none. Default: none (no fallback: such users are asked to store a key).
   */
  fallbackOpenAiKeySecretArn?: string;
  /** Days CloudWatch keeps the functions' and the access logs (a value it accepts). Default: 30. */
  logRetentionDays: number;
  /** Requests per second each route may take (the stage's default method throttle). Default: 50. */
  throttleRatePerSecond: number;
  /** Burst each route may take. Default: 100. */
  throttleBurst: number;
  /** Requests per second each route that calls the model may take. Default: 10. */
  modelThrottleRatePerSecond: number;
  /** Burst each route that calls the model may take. Default: 20. */
  modelThrottleBurst: number;
  /** A WAF web ACL (AWS managed rules and rate rules) in front of the API. Default: true. */
  waf: boolean;
  /** WAF: requests per 5 minutes one client IP may send (at least 10). Default: 1000. */
  wafRequestsPer5Min: number;
  /** WAF: requests per 5 minutes one bearer token may send (at least 10; 0: no such rule). Default: 300. */
  wafTokenRequestsPer5Min: number;
  /** Reserved concurrency of each model-streaming function (0: none, share the account's pool). Default: 20. */
  reservedConcurrencyModelStream: number;
  /** Reserved concurrency of each buffered model function. Default: 10. */
  reservedConcurrencyModel: number;
  /** Reserved concurrency of each streaming function without a model (follow, export). Default: 10. */
  reservedConcurrencyStream: number;
  /** Reserved concurrency of each other function. Default: 5. */
  reservedConcurrencyRequest: number;
  /**
   * Concurrency this stack may reserve from: the region's account quota less what other
   * functions already reserve (`aws lambda get-account-settings`, `UnreservedConcurrentExecutions`
   * before this stack exists). Default: 1000, AWS's usual quota.
   */
  accountConcurrency: number;
  /** An e-mail address the alarm topic notifies (confirm the subscription AWS sends). Default: none. */
  alarmEmail?: string;
  /** An existing SNS topic the alarms notify instead of one of the stack's. Default: none. */
  alarmTopicArn?: string;
  /**
   * IAM principals (ARNs) that administer the KMS keys; none of them may use them. Must include
   * the role CloudFormation deploys with. Default: the account (administration left to IAM).
   */
  keyAdminArns: string[];
  /**
   * Synthesize for `sam local invoke`: every function also declares the variables
   * `test/events/sam-env.json` sets (local endpoints, the dev JWT secret), and the template
   * refuses to deploy. Default: false.
   */
  samLocal: boolean;
}

export const DEFAULT_CONFIG: StackConfig = {
  allowedOrigins: [],
  openAiModel: 'gpt-4o-mini',
  logRetentionDays: 30,
  throttleRatePerSecond: 50,
  throttleBurst: 100,
  modelThrottleRatePerSecond: 10,
  modelThrottleBurst: 20,
  waf: true,
  wafRequestsPer5Min: 1000,
  wafTokenRequestsPer5Min: 300,
  reservedConcurrencyModelStream: 20,
  reservedConcurrencyModel: 10,
  reservedConcurrencyStream: 10,
  reservedConcurrencyRequest: 5,
  accountConcurrency: 1000,
  keyAdminArns: [],
  samLocal: false,
};

/** Every context key this app reads (`stackName` is read by `infra/app.ts`). */
const SETTINGS = [
  ...Object.keys(DEFAULT_CONFIG),
  ...['jwksUrl', 'jwtIssuer', 'jwtAudience', 'openAiBaseUrl', 'fallbackOpenAiKeySecretArn'],
  ...['alarmEmail', 'alarmTopicArn', 'stackName'],
];

/** A setting that synthesis refuses; the message names every bad setting and why. */
export class StackSettingsError extends Error {
  constructor(problems: string[]) {
    super(`Invalid stack settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'StackSettingsError';
  }
}

const ARN = {
  // The complete ARN, with the random suffix: IAM matches a secret's ARN exactly.
  secret: /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/,
  topic: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/,
  principal: /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/,
};

/**
 * Reads the settings from CDK context over the defaults, applies `overrides`, and checks
 * them all; throws a `StackSettingsError` naming each bad one.
 */
export function resolveConfig(node: Node, overrides: Partial<StackConfig> = {}): StackConfig {
  const problems: string[] = [];
  const context: Record<string, unknown> = node.getAllContext();
  // A mistyped setting would silently fall back to its default: our settings are plain
  // camelCase words, CDK's own keys carry `@`, `:` or `-`.
  for (const key of Object.keys(context)) {
    if (/^[a-z][A-Za-z0-9]*$/.test(key) && !SETTINGS.includes(key)) {
      problems.push(
        key === 'fallbackOpenAiKey'
          ? 'fallbackOpenAiKey was replaced by fallbackOpenAiKeySecretArn: create the secret holding the key, then give its ARN'
          : `${key} is not a setting of this stack (the settings: ${SETTINGS.join(', ')})`,
      );
    }
  }
  const raw = (key: keyof StackConfig): unknown => {
    if (key in overrides) return overrides[key];
    const value = context[key];
    return value === '' || value === null ? undefined : value;
  };
  const text = (key: keyof StackConfig): string | undefined => {
    const value = raw(key);
    return value === undefined ? undefined : String(value).trim() || undefined;
  };
  const list = (key: keyof StackConfig): string[] | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    const parts = Array.isArray(value) ? value.map(String) : String(value).split(',');
    return parts.map((part) => part.trim()).filter(Boolean);
  };
  const flag = (key: keyof StackConfig): boolean => {
    const value = raw(key);
    if (value === undefined) return DEFAULT_CONFIG[key] as boolean;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    problems.push(`${key} must be true or false; got ${JSON.stringify(value)}`);
    return DEFAULT_CONFIG[key] as boolean;
  };
  const whole = (key: keyof StackConfig, min: number, max: number, why = ''): number => {
    const value = raw(key);
    const fallback = DEFAULT_CONFIG[key] as number;
    if (value === undefined) return fallback;
    const parsed = typeof value === 'number' ? value : Number(String(value).trim());
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      problems.push(
        `${key} must be a whole number from ${min} to ${max}${why}; got ${JSON.stringify(value)}`,
      );
      return fallback;
    }
    return parsed;
  };
  const matching = (key: keyof StackConfig, pattern: RegExp, what: string) => {
    const value = text(key);
    if (value !== undefined && !pattern.test(value)) {
      problems.push(`${key} must be ${what}; got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const httpsUrl = (key: keyof StackConfig, why: string) => {
    const value = text(key);
    if (value !== undefined && !URL.canParse(value)) {
      problems.push(`${key} must be a URL; got ${JSON.stringify(value)}`);
    } else if (value !== undefined && new URL(value).protocol !== 'https:') {
      problems.push(`${key} must be an https:// URL (${why}); got ${JSON.stringify(value)}`);
    }
    return value;
  };

  const allowedOrigins = list('allowedOrigins') ?? DEFAULT_CONFIG.allowedOrigins;
  for (const origin of allowedOrigins) {
    if (origin === '*') {
      if (allowedOrigins.length > 1)
        problems.push('allowedOrigins: * allows any origin, so it must be the only one');
      continue;
    }
    const parsed = URL.canParse(origin) ? new URL(origin) : undefined;
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      problems.push(
        `allowedOrigins: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path or trailing slash)`,
      );
    }
  }

  const config: StackConfig = {
    allowedOrigins,
    jwksUrl: httpsUrl('jwksUrl', 'the token keys must not be forgeable in transit'),
    jwtIssuer: text('jwtIssuer'),
    jwtAudience: text('jwtAudience'),
    openAiModel: text('openAiModel') ?? DEFAULT_CONFIG.openAiModel,
    openAiBaseUrl: httpsUrl('openAiBaseUrl', "it receives users' API keys"),
    fallbackOpenAiKeySecretArn: matching(
      'fallbackOpenAiKeySecretArn',
      ARN.secret,
      "a secret's complete ARN, with its 6-character suffix (aws secretsmanager describe-secret --secret-id <name> --query ARN)",
    ),
    logRetentionDays: DEFAULT_CONFIG.logRetentionDays,
    throttleRatePerSecond: whole('throttleRatePerSecond', 1, 10_000),
    throttleBurst: whole('throttleBurst', 1, 5_000),
    modelThrottleRatePerSecond: whole('modelThrottleRatePerSecond', 1, 10_000),
    modelThrottleBurst: whole('modelThrottleBurst', 1, 5_000),
    waf: flag('waf'),
    wafRequestsPer5Min: whole(
      'wafRequestsPer5Min',
      10,
      2_000_000_000,
      " (WAF's smallest rate limit is 10)",
    ),
    wafTokenRequestsPer5Min: whole('wafTokenRequestsPer5Min', 0, 2_000_000_000),
    reservedConcurrencyModelStream: whole('reservedConcurrencyModelStream', 0, 10_000),
    reservedConcurrencyModel: whole('reservedConcurrencyModel', 0, 10_000),
    reservedConcurrencyStream: whole('reservedConcurrencyStream', 0, 10_000),
    reservedConcurrencyRequest: whole('reservedConcurrencyRequest', 0, 10_000),
    accountConcurrency: whole('accountConcurrency', 0, 1_000_000),
    alarmEmail: matching('alarmEmail', /^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an e-mail address'),
    alarmTopicArn: matching('alarmTopicArn', ARN.topic, 'an SNS topic ARN'),
    keyAdminArns: list('keyAdminArns') ?? DEFAULT_CONFIG.keyAdminArns,
    samLocal: flag('samLocal'),
  };

  const retention = raw('logRetentionDays');
  if (retention !== undefined) {
    const days = Number(retention);
    if (LOG_RETENTION_DAYS.includes(days)) config.logRetentionDays = days;
    else
      problems.push(
        `logRetentionDays must be one of CloudWatch Logs' periods (${LOG_RETENTION_DAYS.join(', ')}); got ${JSON.stringify(retention)}`,
      );
  }
  if (config.wafTokenRequestsPer5Min > 0 && config.wafTokenRequestsPer5Min < 10) {
    problems.push(
      `wafTokenRequestsPer5Min must be 0 (no per-token rule) or at least 10 (WAF's smallest rate limit); got ${config.wafTokenRequestsPer5Min}`,
    );
  }
  for (const arn of config.keyAdminArns) {
    if (!ARN.principal.test(arn)) {
      problems.push(
        `keyAdminArns: ${JSON.stringify(arn)} is not an IAM role, user or account root ARN`,
      );
    }
  }
  if (config.alarmEmail && config.alarmTopicArn) {
    problems.push(
      "alarmEmail and alarmTopicArn: give one (an e-mail for the stack's own topic, or your own topic)",
    );
  }
  const reserved = reservedConcurrencyTotal(config);
  const unreserved = config.accountConcurrency - reserved;
  if (reserved > 0 && unreserved < MIN_UNRESERVED_CONCURRENCY) {
    const settings = Object.values(RESERVED_CONCURRENCY_SETTING)
      .map((key) => `${key}=${config[key]}`)
      .join(', ');
    problems.push(
      `reserved concurrency: ${settings} reserve ${reserved} executions across ${routes.length} functions, so accountConcurrency=${config.accountConcurrency} leaves ${unreserved} unreserved, and AWS requires at least ${MIN_UNRESERVED_CONCURRENCY}. Lower the reservedConcurrency* settings (0 reserves none), or raise accountConcurrency if your account's quota is higher`,
    );
  }

  if (problems.length > 0) throw new StackSettingsError(problems);
  return config;
}

/** The executions the stack reserves: each function's kind's setting, summed. */
export function reservedConcurrencyTotal(config: StackConfig): number {
  return routes.reduce((sum, route) => sum + reservationOf(config, route), 0);
}

/** The reserved concurrency of a route's function (0: none). */
export function reservationOf(config: StackConfig, route: RouteSpec): number {
  return config[RESERVED_CONCURRENCY_SETTING[kindOf(route)]];
}

/** The CloudFormation stack name: `stackName` from context. Default: `AiChatHistory`. */
export function stackNameFrom(node: Node): string {
  const name = String(node.tryGetContext('stackName') ?? 'AiChatHistory');
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(name)) {
    throw new StackSettingsError([
      `stackName must start with a letter and hold only letters, digits and hyphens (at most 128); got ${JSON.stringify(name)}`,
    ]);
  }
  return name;
}
