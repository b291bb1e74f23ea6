/** @photoncloud/plasmavmc-api: PlasmaVMC's REST wire types, store records and typed client. */
export * from './schemas.js';
export * from './records.js';
export * from './plasmavmc-client.js';
