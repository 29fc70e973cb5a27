import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app.ts';
import type { ChatHistoryStack } from '../../infra/stack.ts';

export type Resource = {
  Type: string;
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON
  Properties: Record<string, any>;
  Metadata?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
};

/** The context `cdk` hands the app from cdk.json, so tests synthesize what the CLI does. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

export interface Synthesized {
  stack: ChatHistoryStack;
  template: Template;
  resources: Record<string, Resource>;
  /** What synthesis threw (cdk-nag, CloudFormation Validate), if it did. */
  failure?: Error;
}

/**
 * The app as `cdk synth` builds it (`infra/app.ts`, cdk.json's context, cdk-nag), with
 * `settings` as `-c key=value`. Functions are bundled only with `bundle`, and the CLI's
 * CloudFormation Validate runs only with `validate`: each takes seconds, so the main template's
 * test asks for both and the variations for neither (cfn-lint reads those).
 */
export function synth(
  settings: Record<string, unknown> = {},
  { bundle = false, validate = false } = {},
): Synthesized {
  const { app, stack } = buildApp({
    builtinCloudFormationValidation: validate,
    context: {
      ...CDK_JSON_CONTEXT,
      // The CLI sets this; SAM reads the metadata it adds.
      'aws:cdk:enable-asset-metadata': true,
      ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...settings,
    },
  });
  let failure: Error | undefined;
  try {
    app.synth();
  } catch (error) {
    failure = error as Error;
  }
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources, failure };
}

/** The logical ids of a resource type. */
export const idsOf = (resources: Record<string, Resource>, type: string) =>
  Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);

/** The logical id of the function serving a route (its description is `METHOD path`). */
export function functionOf(resources: Record<string, Resource>, method: string, path: string) {
  const [id] = Object.entries(resources).find(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' && r.Properties.Description === `${method} ${path}`,
  ) ?? [''];
  return id;
}
