import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#api/routes.ts';
import {
  authSettings,
  httpSettings,
  modelSettings,
  storeSettings,
  vaultSettings,
} from '#commons/config.ts';
import { SAM_LOCAL_VARIABLES } from '../../infra/stack.ts';
import { functionOf, type Synthesized, synth } from './synth.ts';

/** `sam local invoke --env-vars test/events/sam-env.json`: for every function, then by logical id. */
const envFile = JSON.parse(readFileSync('test/events/sam-env.json', 'utf8')) as Record<
  string,
  Record<string, string>
>;
/**
 * SAM sets these itself, whatever the file says: the region from `--region`, the credentials
 * from your shell (or placeholders). The local stack accepts any. The file keeps them for the
 * tests that run the handlers in-process as SAM would (test/integration/sample-events.test.ts).
 */
const SET_BY_SAM = ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

/**
 * The environment SAM gives a function, by its rules (aws-sam-cli
 * samcli/local/lambdafn/env_vars.py): only the variables the template declares, each
 * overridden by the file when the file names it, and a value SAM cannot resolve (a `Ref`, a
 * `Fn::GetAtt`) given as "".
 */
function samEnvironment(logicalId: string, declared: Record<string, unknown>) {
  const overrides = { ...envFile.Parameters, ...envFile[logicalId] };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(declared)) {
    const chosen = name in overrides ? overrides[name] : value;
    env[name] = typeof chosen === 'string' ? chosen : '';
  }
  return env;
}

let sam: Synthesized;
let deployable: Synthesized;

beforeAll(() => {
  sam = synth({ samLocal: 'true' });
  deployable = synth();
}, 120_000);

describe('the sam local invoke recipe (README), checked against the template', () => {
  it('overrides only variables the samLocal template declares on every function (SAM ignores the rest)', () => {
    const wanted = Object.keys(envFile.Parameters ?? {}).filter(
      (name) => !SET_BY_SAM.includes(name),
    );

    expect(wanted).toEqual(expect.arrayContaining([...SAM_LOCAL_VARIABLES]));
    for (const route of routes) {
      const fn = sam.resources[functionOf(sam.resources, route.method, route.path)];
      const declared = Object.keys(fn?.Properties.Environment.Variables);
      expect(
        wanted.filter((name) => !declared.includes(name)),
        route.handler,
      ).toEqual(route.kms.length > 0 ? [] : ['KMS_KEY_ID']);
    }
  });

  it("gives every function, under SAM's rules, a configuration it starts with, pointed at the local stack", () => {
    for (const route of routes) {
      const id = functionOf(sam.resources, route.method, route.path);
      const env = samEnvironment(id, sam.resources[id]?.Properties.Environment.Variables);

      expect(() => storeSettings(env), route.handler).not.toThrow();
      expect(() => authSettings(env), route.handler).not.toThrow();
      expect(() => httpSettings(env), route.handler).not.toThrow();
      if (route.kms.length > 0) expect(() => vaultSettings(env), route.handler).not.toThrow();
      if (route.model) {
        expect(modelSettings(env).OPENAI_BASE_URL, route.handler).toBe(
          envFile.Parameters?.OPENAI_BASE_URL,
        );
      }
      expect(env.AWS_ENDPOINT_URL_DYNAMODB).toBe(envFile.Parameters?.AWS_ENDPOINT_URL_DYNAMODB);
      expect(env.AWS_ENDPOINT_URL_KMS).toBe(envFile.Parameters?.AWS_ENDPOINT_URL_KMS);
      expect(env.TABLE_NAME).toBe('ai-chat-history');
      expect(authSettings(env).JWT_SECRET).toBe(envFile.Parameters?.JWT_SECRET);
    }
  });

  it('could not work with the deployable template, which declares none of the local variables', () => {
    for (const route of routes) {
      const id = functionOf(deployable.resources, route.method, route.path);
      const declared = deployable.resources[id]?.Properties.Environment.Variables;
      const env = samEnvironment(id, declared);

      for (const name of SAM_LOCAL_VARIABLES) {
        expect(declared[name], `${route.handler} ${name}`).toBeUndefined();
      }
      // No JWT secret reaches the function: it cannot start.
      expect(() => authSettings(env), route.handler).toThrow(/JWT_SECRET/);
    }
  });

  it('refuses to deploy the samLocal template, whose functions read the JWT secret from the environment', () => {
    const rules = (template: Synthesized['template']) =>
      Object.values(
        (template.toJSON().Rules ?? {}) as Record<
          string,
          { Assertions: { AssertDescription?: string }[] }
        >,
      ).flatMap((rule) => rule.Assertions.map((a) => a.AssertDescription ?? ''));

    expect(rules(sam.template).join('\n')).toMatch(
      /synthesized with -c samLocal=true for sam local invoke/,
    );
    expect(rules(deployable.template).join('\n')).not.toMatch(/samLocal/);
  });
});
