import { unmarshall } from '@aws-sdk/util-dynamodb';

/** A conditional write lost: DynamoDB's answer when a ConditionExpression does not hold. */
function isConditionFailure(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** For a write whose condition may fail without harm: `.catch(unlessConditionFailed)`. */
export function unlessConditionFailed(error: unknown): undefined {
  if (!isConditionFailure(error)) throw error;
  return undefined;
}

/**
 * The item as it was when a conditional write lost (asked for with
 * `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`), or undefined when there was none. Any
 * other error is thrown again.
 */
export function itemWhenConditionFailed<T>(error: unknown): T | undefined {
  if (!isConditionFailure(error)) throw error;
  const item = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
  return item ? (unmarshall(item) as T) : undefined;
}
