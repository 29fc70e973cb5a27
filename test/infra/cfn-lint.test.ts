import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

/** cfn-lint on PATH, or at the pyenv shim this machine has it at (CFN_LINT overrides). */
function findCfnLint(): string | undefined {
  for (const candidate of [process.env.CFN_LINT, 'cfn-lint', '/root/.pyenv/shims/cfn-lint']) {
    if (candidate && spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  return undefined;
}

const cfnLint = findCfnLint();
/**
 * W3005: CDK's Function lists its role in DependsOn beside the `Fn::GetAtt` of its ARN (so the
 * role's policy is in place first); the duplicate dependency is harmless.
 */
const IGNORED = ['W3005'];
const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** cfn-lint's findings on a synthesized template (empty: clean). */
function lint(name: string, settings: Record<string, unknown>) {
  const file = join(dir, `${name}.template.json`);
  writeFileSync(file, JSON.stringify(synth(settings).template.toJSON()));
  try {
    execFileSync(cfnLint as string, ['--ignore-checks', ...IGNORED, '--', file], {
      encoding: 'utf8',
    });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout || error);
  }
}

if (!cfnLint) {
  console.warn(
    'cfn-lint is not installed (pip install cfn-lint, or set CFN_LINT): the template lint tests are skipped',
  );
}

describe.skipIf(!cfnLint)("AWS's CloudFormation linter (cfn-lint)", () => {
  it('finds nothing in the default template', () => {
    expect(lint('default', { allowedOrigins: 'https://app.example' })).toBe('');
  });

  it('finds nothing with the options turned the other way', () => {
    expect(
      lint('options', {
        waf: 'false',
        alarmEmail: 'ops@example.com',
        fallbackOpenAiKeySecretArn:
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai-fallback-AbC123',
        jwksUrl: 'https://idp.example/jwks.json',
        allowedOrigins: 'https://a.example,https://b.example',
        keyAdminArns: 'arn:aws:iam::123456789012:role/KeyAdmins',
        reservedConcurrencyRequest: '0',
      }),
    ).toBe('');
  });

  it("sees that the samLocal template's guard always fails a deploy, and finds nothing else", () => {
    const findings = lint('sam-local', { samLocal: 'true' });

    expect(findings).toMatch(/^W8003 \['samLocal', 'deploy'\] will always return False/);
    expect(findings.match(/^[EWI]\d{4}/gm)).toEqual(['W8003']);
  });
});
