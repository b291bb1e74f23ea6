/** @photoncloud/errors: the one errors package (ARCHITECTURE.md §4). */
export * from './api-error.js';
