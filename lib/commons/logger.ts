import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one structured JSON logger. Log level from POWERTOOLS_LOG_LEVEL (default INFO).
 * Never pass it a request body, a header or a key: only ids, counts and error names.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'ai-chat' });
