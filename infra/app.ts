import { App, type AppProps, Validations } from 'aws-cdk-lib';
import nag from 'cdk-nag';
import { stackNameFrom } from './config.ts';
import { acknowledgeReviewedFindings } from './nag.ts';
import { ChatHistoryStack } from './stack.ts';

/**
 * The whole service as one stack, checked by cdk-nag. Environment-agnostic on purpose: the
 * region and account are CloudFormation's pseudo parameters, so one synth deploys to any
 * region (`cdk deploy` picks the region of your credentials) and no ARN names one.
 */
export function buildApp(props: AppProps = {}) {
  const app = new App(props);
  const stack = new ChatHistoryStack(app, stackNameFrom(app.node));
  acknowledgeReviewedFindings(stack);
  Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

// `cdk synth` / `cdk deploy` run this file (cdk.json); tests import buildApp.
if (import.meta.main) buildApp();
