import type * as z from 'zod';
import type { streamEvents } from './schemas.ts';

/** What a route of the route table is: its place in the API, its access, its contract. */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type DynamoAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:Query'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:ConditionCheckItem';

export type KmsAction = 'kms:Encrypt' | 'kms:Decrypt';

/** What the CDK stack and the local server need of a route: where it is, what it may touch. */
export interface RouteSpec {
  method: HttpMethod;
  /** API Gateway resource path; `{name}` is a path parameter. */
  path: string;
  /** File name in `functions/`, without `.ts`. */
  handler: string;
  /** Needs a bearer token. */
  auth: boolean;
  /** Reads the JWT secret without needing a token (`/health` checks that it is usable). Default: false. */
  checksJwtSecret?: boolean;
  /** Exactly the actions the handler uses on the table itself (its items, not its indexes). */
  dynamodb: DynamoAction[];
  /** Queries the rooms-by-activity index: `dynamodb:Query` granted on that index's ARN only. */
  roomsIndex?: boolean;
  /** Exactly the KMS actions the handler uses on the API-key key. */
  kms: KmsAction[];
  /** Calls the model (needs the model settings and outbound network). */
  model: boolean;
  /** Answers with a response stream (API Gateway `STREAM` mode, Lambda response streaming). */
  stream?: boolean;
  /** The function's timeout. */
  timeoutSeconds: number;
}

/**
 * What a route takes and answers, beyond what its spec says (method, path, auth): the OpenAPI
 * document (`lib/api/openapi.ts`) is made from it.
 */
export interface RouteContract {
  summary: string;
  description?: string;
  /** Path parameters. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Request headers the route reads (besides Authorization). */
  headers?: ('Idempotency-Key' | 'Last-Event-ID')[];
  /** The success answer: a JSON schema, server-sent events, or a file. */
  success:
    | { json: z.ZodType; replayable?: boolean }
    | { events: (keyof typeof streamEvents)[]; replayable?: boolean }
    | { file: Record<string, string> };
  /** Error statuses besides 401 (authenticated routes) and 500/503 (every route). */
  errors: number[];
}

/**
 * Where a user's first session would call the route: the sample events for `sam local invoke`
 * (`test/events/`, written by `npm run openapi`) run in this order, and in the table's order
 * within a step.
 */
export const SAMPLE_STEPS = ['set up', 'chat', 'read', 'remove'] as const;

/** The request of the route's sample event: a first session's call, as `sample-user`. */
export interface SampleRequest {
  step: (typeof SAMPLE_STEPS)[number];
  /** Path parameters (placeholders in angle brackets for what only a run can know). */
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** The JSON body. */
  body?: Record<string, unknown>;
}

/** A route of the route table: its spec, its contract, and its sample event. */
export interface Route extends RouteSpec {
  contract: RouteContract;
  sample: SampleRequest;
}

/** A route's entry: no KMS and no model unless it says so. */
export function route(
  entry: Omit<Route, 'kms' | 'model'> & Partial<Pick<Route, 'kms' | 'model'>>,
): Route {
  return { kms: [], model: false, ...entry };
}
