import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { routes } from '#api/routes.ts';
import { buildApp } from '../../infra/app.ts';
import { DEFAULT_CONFIG, reservedConcurrencyTotal } from '../../infra/config.ts';
import { CDK_JSON_CONTEXT } from './synth.ts';

/** What synthesis says about `settings` given as `-c key=value` (strings, as the CLI passes them). */
function refusal(settings: Record<string, unknown>): string {
  try {
    buildApp({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...settings } });
  } catch (error) {
    return (error as Error).message;
  }
  return '(accepted)';
}

describe('stack settings, checked at synth', () => {
  it.each([
    [
      { wafRequestsPer5Min: '5' },
      /wafRequestsPer5Min must be a whole number from 10 .*WAF's smallest rate limit is 10.*got "5"/,
    ],
    [
      { wafTokenRequestsPer5Min: '3' },
      /wafTokenRequestsPer5Min must be 0 \(no per-token rule\) or at least 10/,
    ],
    [{ waf: 'yes' }, /waf must be true or false; got "yes"/],
    [
      { logRetentionDays: '42' },
      /logRetentionDays must be one of CloudWatch Logs' periods \(1, 3, 5, 7, 14, 30.*got "42"/,
    ],
    [{ throttleBurst: '0' }, /throttleBurst must be a whole number from 1 to 5000; got "0"/],
    [{ modelThrottleRatePerSecond: '2.5' }, /modelThrottleRatePerSecond must be a whole number/],
    [
      { allowedOrigins: 'https://app.example/' },
      /allowedOrigins: "https:\/\/app.example\/" is not an origin/,
    ],
    [{ allowedOrigins: 'app.example' }, /allowedOrigins: "app.example" is not an origin/],
    [
      { allowedOrigins: '*,https://app.example' },
      /allowedOrigins: \* allows any origin, so it must be the only one/,
    ],
    [
      { openAiBaseUrl: 'http://models.example/v1' },
      /openAiBaseUrl must be an https:\/\/ URL \(it receives users' API keys\)/,
    ],
    [{ jwksUrl: 'not a url' }, /jwksUrl must be a URL/],
    [
      { fallbackOpenAiKeySecretArn: 'openai-key' },
      /fallbackOpenAiKeySecretArn must be a secret's complete ARN/,
    ],
    [
      { fallbackOpenAiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai' },
      /fallbackOpenAiKeySecretArn must be a secret's complete ARN, with its 6-character suffix/,
    ],
    [{ fallbackOpenAiKey: 'true' }, /fallbackOpenAiKey was replaced by fallbackOpenAiKeySecretArn/],
    [{ alarmEmail: 'ops' }, /alarmEmail must be an e-mail address; got "ops"/],
    [{ alarmTopicArn: 'ops-topic' }, /alarmTopicArn must be an SNS topic ARN/],
    [
      { alarmEmail: 'ops@example.com', alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' },
      /alarmEmail and alarmTopicArn: give one/,
    ],
    [
      { keyAdminArns: 'admins' },
      /keyAdminArns: "admins" is not an IAM role, user or account root ARN/,
    ],
    [
      { reservedConcurrencyRequest: '-1' },
      /reservedConcurrencyRequest must be a whole number from 0/,
    ],
    [
      { alowedOrigins: 'https://app.example' },
      /alowedOrigins is not a setting of this stack \(the settings: allowedOrigins, /,
    ],
    [
      { stackName: 'chat history' },
      /stackName must start with a letter and hold only letters, digits and hyphens/,
    ],
  ])('refuses %o, naming the setting', (settings, message) => {
    const said = refusal(settings);

    expect(said).toMatch(/^Invalid stack settings:/);
    expect(said).toMatch(message);
  });

  it('names every bad setting at once', () => {
    const said = refusal({ wafRequestsPer5Min: '5', logRetentionDays: '42', alarmEmail: 'ops' });

    expect(said.split('\n  - ')).toHaveLength(4);
  });

  it('refuses reservations that would leave the account fewer than 10 unreserved executions, saying which settings and what the quota allows', () => {
    // A new account's quota is often 10: nothing can be reserved at all.
    const said = refusal({ accountConcurrency: '10' });

    expect(said).toMatch(
      new RegExp(
        `reservedConcurrencyModelStream=20, reservedConcurrencyModel=10, reservedConcurrencyStream=10, reservedConcurrencyRequest=5 reserve ${reservedConcurrencyTotal(DEFAULT_CONFIG)} executions across ${routes.length} functions, so accountConcurrency=10 leaves -\\d+ unreserved, and AWS requires at least 10`,
      ),
    );
    expect(said).toMatch(/0 reserves none/);
    expect(
      refusal({
        accountConcurrency: '10',
        reservedConcurrencyModelStream: '0',
        reservedConcurrencyModel: '0',
        reservedConcurrencyStream: '0',
        reservedConcurrencyRequest: '0',
      }),
    ).toBe('(accepted)');
  });

  it('accepts the defaults, and typed values from cdk.json as well as strings from -c', () => {
    expect(refusal({})).toBe('(accepted)');
    expect(
      refusal({
        waf: false,
        wafRequestsPer5Min: 500,
        logRetentionDays: 365,
        allowedOrigins: ['https://app.example', 'http://localhost:5173'],
      }),
    ).toBe('(accepted)');
  });

  it('turns CloudFormation Validate findings into synth errors (cdk.json sets @aws-cdk/core:validateAgainstDefaultRules)', () => {
    expect(CDK_JSON_CONTEXT['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
    const app = new App({ context: CDK_JSON_CONTEXT });
    const stack = new Stack(app, 'Invalid');
    // A memory size Lambda refuses at deploy time (at least 128 MB).
    new CfnResource(stack, 'TooSmall', {
      type: 'AWS::Lambda::Function',
      properties: {
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        MemorySize: 64,
        Role: 'arn:aws:iam::123456789012:role/example',
        Code: { ZipFile: 'exports.handler = async () => 1' },
      },
    });

    expect(() => app.synth()).toThrow(/MemorySize: 64 is less than the minimum of 128/);
  });
});
