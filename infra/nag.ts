import { Validations } from 'aws-cdk-lib';
import type { ChatHistoryStack } from './stack.ts';

/**
 * The cdk-nag (AwsSolutions) findings this design accepts, each with the reason a reviewer
 * needs. Anything not acknowledged here fails synthesis (and the infra tests).
 */
export const REVIEWED_FINDINGS: Record<string, string> = {
  'AwsSolutions-APIG4':
    'Every route but /health verifies a bearer JWT in its handler (jose, pinned algorithms), because the tokens come from the existing Flask app (HS256) or any OIDC provider; /health is public by design.',
  'AwsSolutions-COG4':
    'Users are not in Cognito: tokens are issued by the existing app (HS256) or an OIDC provider and verified in the handlers.',
  'AwsSolutions-APIG2':
    "Each Lambda validates its body and query with zod schemas and answers 400/413 in the API contract's { success, error } shape, which a gateway request validator cannot produce.",
  'AwsSolutions-APIG6':
    'Execution logging needs an account-wide API Gateway CloudWatch role that other stacks share and overwrite; this stage has JSON access logs, and the functions write structured logs and metrics, instead.',
  'AwsSolutions-SMG4':
    'The JWT secret is shared with the app that issues the tokens, so it is rotated with that app (README: rotating the JWT secret), not by a Secrets Manager rotation Lambda that would sign every user out.',
};

/** Only when the deployer turned the WAF off (`-c waf=false`), which is theirs to decide. */
const WAF_OFF =
  'The WAF was turned off with the waf setting (it costs a fixed monthly fee); stage and per-route throttling and the per-user limits still apply.';

/** Acknowledges the reviewed findings (and, when the WAF is off by choice, that one). */
export function acknowledgeReviewedFindings(stack: ChatHistoryStack) {
  const findings = { ...REVIEWED_FINDINGS };
  if (!stack.config.waf) findings['AwsSolutions-APIG3'] = WAF_OFF;
  for (const [id, reason] of Object.entries(findings)) {
    Validations.of(stack).acknowledge({ id, reason });
  }
}
