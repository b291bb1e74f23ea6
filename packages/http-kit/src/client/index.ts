/** `@photoncloud/http-kit/client`: the client kit alone (no server code, no fastify). */
export * from './api-client.js';
