/** @photoncloud/log: structured JSON logs for every service. */
export * from './create-logger.js';
