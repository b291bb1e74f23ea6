/**
 * @photoncloud/config: how a PhotonCloud process is configured — data directory and its layout, listen
 * host, ports (defaults, offsets, overrides), auth mode, and the environment variables behind them.
 * Operator mistakes are `ConfigError`s with a hint.
 */
export * from './config-error.js';
export * from './env.js';
export * from './ports.js';
export * from './host.js';
export * from './auth-mode.js';
export * from './data-dir.js';
