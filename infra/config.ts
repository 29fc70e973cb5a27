import type { Node } from 'constructs';

/** What a team chooses at deploy time: CDK context (`-c key=value` or `cdk.json`) or props. */
export interface StackConfig {
  /** CORS origins allowed to call the API. Default: `*`. Context: `allowedOrigins` (comma-separated). */
  allowedOrigins: string[];
  /** OIDC JWKS URL; when set, tokens are RS256/ES256 from it instead of HS256. Default: none. */
  jwksUrl?: string;
  /** Expected `iss`, checked when set. Default: none. */
  jwtIssuer?: string;
  /** Expected `aud`, checked when set. Default: none. */
  jwtAudience?: string;
  /** Model name. Default: `gpt-4o-mini`. */
  openAiModel: string;
  /** OpenAI-compatible base URL. Default: OpenAI's. */
  openAiBaseUrl?: string;
  /** Create a Secrets Manager secret for a server-wide fallback OpenAI key. Default: false. */
  fallbackOpenAiKey: boolean;
  /** Days to keep Lambda and access logs. Default: 30. */
  logRetentionDays: number;
  /** Stage-wide steady request rate (per second). Default: 50. */
  throttleRatePerSecond: number;
  /** Stage-wide burst. Default: 100. */
  throttleBurst: number;
  /** WAF rate-based rule: requests per 5 minutes per IP; 0 for no WAF. Default: 0. */
  wafRequestsPer5Min: number;
  /** SNS topic ARN that alarms notify. Default: none (alarms only show in CloudWatch). */
  alarmTopicArn?: string;
}

export const DEFAULT_CONFIG: StackConfig = {
  allowedOrigins: ['*'],
  openAiModel: 'gpt-4o-mini',
  fallbackOpenAiKey: false,
  logRetentionDays: 30,
  throttleRatePerSecond: 50,
  throttleBurst: 100,
  wafRequestsPer5Min: 0,
};

/** Reads the configuration from CDK context, over the defaults. */
export function configFromContext(node: Node): StackConfig {
  const text = (key: string) => {
    const value = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const number = (key: string, fallback: number) => {
    const value = text(key);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0)
      throw new Error(`context ${key} must be a number >= 0`);
    return parsed;
  };
  return {
    allowedOrigins:
      text('allowedOrigins')
        ?.split(',')
        .map((o) => o.trim())
        .filter(Boolean) ?? DEFAULT_CONFIG.allowedOrigins,
    jwksUrl: text('jwksUrl'),
    jwtIssuer: text('jwtIssuer'),
    jwtAudience: text('jwtAudience'),
    openAiModel: text('openAiModel') ?? DEFAULT_CONFIG.openAiModel,
    openAiBaseUrl: text('openAiBaseUrl'),
    fallbackOpenAiKey: text('fallbackOpenAiKey') === 'true',
    logRetentionDays: number('logRetentionDays', DEFAULT_CONFIG.logRetentionDays),
    throttleRatePerSecond: number('throttleRatePerSecond', DEFAULT_CONFIG.throttleRatePerSecond),
    throttleBurst: number('throttleBurst', DEFAULT_CONFIG.throttleBurst),
    wafRequestsPer5Min: number('wafRequestsPer5Min', DEFAULT_CONFIG.wafRequestsPer5Min),
    alarmTopicArn: text('alarmTopicArn'),
  };
}
