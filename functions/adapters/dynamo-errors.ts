/** Classifying DynamoDB errors the repositories react to. */
export const isConditionFailed = (error: unknown): boolean =>
  (error as { name?: string }).name === 'ConditionalCheckFailedException';
