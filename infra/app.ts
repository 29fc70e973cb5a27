import { App, Validations } from 'aws-cdk-lib';
import nag from 'cdk-nag';
import { acknowledgeReviewedFindings } from './nag.ts';
import { ChatHistoryStack } from './stack.ts';

/** `cdk synth` / `cdk deploy`: the whole service as one stack, checked by cdk-nag. */
const app = new App();
const stack = new ChatHistoryStack(app, app.node.tryGetContext('stackName') ?? 'AiChatHistory', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
acknowledgeReviewedFindings(stack);
Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app, { verbose: true }));
