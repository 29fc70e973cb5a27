/** A conditional write lost: DynamoDB's answer when a ConditionExpression does not hold. */
export function isConditionFailure(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}
