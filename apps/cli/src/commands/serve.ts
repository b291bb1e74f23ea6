/**
 * `photoncloud serve <service>`: run one service in the foreground until SIGINT/SIGTERM. This is what
 * `photoncloud up` runs for each service, and how a multi-machine deployment is assembled (one `serve`
 * per service per machine, each with its own flags).
 */
import { mkdir } from 'node:fs/promises';
import {
  ENV,
  connectHost,
  dataDirLayout,
  formatHostPort,
  httpUrl,
  isConfigError,
  parseAuthMode,
  parsePort,
  readEnv,
  resolveAuthMode,
} from '@photoncloud/config';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import { boolFlag, formatHelp, parseCommandArgs, stringFlag } from '../args.js';
import type { CommandSpec } from '../args.js';
import { CliError, UsageError } from '../cli-error.js';
import type { Io } from '../io.js';
import { SERVICES, findService, serviceNames } from '../services.js';
import type { RunningService, ServiceDefinition } from '../services.js';
import { dataDirSetting, hostSetting, portOffsetSetting, portOverridesSetting } from '../settings.js';
import type { CliEnv } from '../settings.js';
import { EtcdStore } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import { buildAuth } from '../auth.js';
import { storeAccess } from '../store-access.js';
import type { BuiltAuth } from '../auth.js';

/** Every listener flag any service has (`--http-port`, `--grpc-port`, …), from the registry. */
function listenerFlags(): Map<string, string> {
  const flags = new Map<string, string>();
  for (const s of SERVICES) for (const l of s.listeners) flags.set(l.flag.replace(/^--/, ''), l.name);
  return flags;
}

/** `serve`'s flags and help. */
export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'Run one service in the foreground',
  usage: 'serve <service> [options]',
  description: [
    'Runs one service until SIGINT/SIGTERM, then stops accepting, drains and flushes its storage.',
    `Services: ${serviceNames().join(', ')}. Its state goes to <data-dir>/<service>.`,
    'Ports default to the platform defaults (plus $PHOTONCLOUD_PORT_OFFSET, or $PHOTONCLOUD_PORTS);',
    'port 0 lets the OS choose. Auth mode: local on loopback, required on any other host.',
  ].join('\n'),
  maxPositionals: 1,
  options: {
    'data-dir': {
      type: 'string',
      valueName: 'DIR',
      description: 'Platform data directory (default $PHOTONCLOUD_DATA_DIR or ./.data)',
    },
    host: {
      type: 'string',
      valueName: 'ADDR',
      description: 'Listen address (default $PHOTONCLOUD_HOST or 127.0.0.1)',
    },
    ...Object.fromEntries(
      [...listenerFlags()].map(([flag, listener]) => [
        flag,
        { type: 'string' as const, valueName: 'PORT', description: `Port of the ${listener} listener` },
      ]),
    ),
    'auth-mode': {
      type: 'string',
      valueName: 'MODE',
      description: 'local | required (default: local on loopback, else required)',
    },
    'jwks-url': {
      type: 'string',
      valueName: 'URL',
      description: `IAM JWKS URL to verify bearer tokens (default $${ENV.jwksUrl})`,
    },
    'store-endpoints': {
      type: 'string',
      valueName: 'LIST',
      description: `ChainFire gRPC endpoints host:port,… holding the state (default $${ENV.storeEndpoints} or ChainFire on this machine)`,
    },
    json: { type: 'boolean', description: 'Print the bound listeners as one JSON line on stdout once ready' },
    join: {
      type: 'string',
      valueName: 'ADDR',
      description:
        'chainfire only: gRPC host:port of a member of an existing cluster to join (first start, empty data dir; needs $PHOTONCLOUD_CLUSTER_SECRET, the cluster-secret file of a member)',
    },
    'initial-cluster': {
      type: 'string',
      valueName: 'LIST',
      description:
        'chainfire only: start a new cluster of several members at once, name=http://host:port,… (the same list and $PHOTONCLOUD_CLUSTER_SECRET on every member; first start only)',
    },
  },
  examples: [
    'photoncloud serve chainfire',
    'photoncloud serve chainfire --host 10.0.0.6 --join 10.0.0.5:50051',
    'photoncloud serve chainfire --host 10.0.0.5 --initial-cluster a=http://10.0.0.5:50051,b=http://10.0.0.6:50051,c=http://10.0.0.7:50051',
    'photoncloud serve chainfire --host 10.0.0.5 --data-dir /var/lib/photoncloud',
    'photoncloud serve chainfire --http-port 0 --grpc-port 0 --json',
  ],
};

/** Resolved settings of one `serve`. */
export interface ServeSettings {
  service: ServiceDefinition;
  dataDir: string;
  serviceDir: string;
  host: string;
  ports: Record<string, number>;
  authMode: 'local' | 'required';
  authReason: string;
  jwksUrl?: string;
  /** ChainFire's etcd v3 gRPC endpoints. */
  storeEndpoints: string[];
  /** The other services' REST base URLs. */
  serviceUrls: Record<string, string>;
  json: boolean;
  /** ChainFire: a member of the cluster to join. */
  join?: string;
  /** ChainFire: the members of a new cluster (`name=url,…`). */
  initialCluster?: string;
}

/** The port a listener of another service has under the same offset/overrides (for defaults). */
function plannedPort(
  service: string,
  listener: string,
  offset: number,
  overrides: Map<string, number>,
): number | undefined {
  const def = findService(service)?.listeners.find((l) => l.name === listener);
  if (def === undefined) return undefined;
  return overrides.get(`${service}.${listener}`) ?? def.defaultPort + offset;
}

/** Parse `name=url,…` of `PHOTONCLOUD_SERVICE_URLS`. */
export function parseServiceUrls(value: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',').map((e) => e.trim())) {
    if (part === '') continue;
    const m = /^([a-z][a-z0-9-]*)=(https?:\/\/\S+?)\/?$/.exec(part);
    if (m === null) {
      throw new UsageError(
        `${what}: "${part}" is not service=url`,
        'Example: prismnet=http://10.0.0.7:8087,creditservice=http://10.0.0.7:8086',
      );
    }
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** Parse `host:port,…` (IPv6 as `[::1]:port`). */
export function parseEndpoints(value: string, what: string): string[] {
  const out = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (out.length === 0) throw new UsageError(`${what}: no endpoint given`);
  for (const e of out) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(e);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new UsageError(`${what}: "${e}" is not host:port`, 'Example: 127.0.0.1:50051,10.0.0.6:50051');
    }
  }
  return out;
}

/** Turn `serve`'s command line into settings; every mistake is a `UsageError`/`ConfigError`. */
export function resolveServeSettings(argv: readonly string[], ctx: CliEnv): ServeSettings | 'help' {
  const args = parseCommandArgs(serveSpec, argv);
  if (args.help) return 'help';
  const name = args.positionals[0];
  if (name === undefined) {
    throw new UsageError('serve: which service?', `Known services: ${serviceNames().join(', ')}`);
  }
  const service = findService(name);
  if (service === undefined) {
    throw new UsageError(`unknown service "${name}"`, `Known services: ${serviceNames().join(', ')}`);
  }
  const dataDir = dataDirSetting(stringFlag(args, 'data-dir'), ctx);
  const host = hostSetting(stringFlag(args, 'host'), ctx);
  const offset = portOffsetSetting(undefined, ctx);
  const overrides = portOverridesSetting(undefined, ctx);
  const ports: Record<string, number> = {};
  const own = new Set(service.listeners.map((l) => l.flag.replace(/^--/, '')));
  for (const flag of listenerFlags().keys()) {
    if (!own.has(flag) && stringFlag(args, flag) !== undefined) {
      throw new UsageError(
        `${service.name} has no listener for --${flag}`,
        `Its listeners: ${service.listeners.map((l) => l.flag).join(', ')}`,
      );
    }
  }
  for (const l of service.listeners) {
    const given = stringFlag(args, l.flag.replace(/^--/, ''));
    if (given !== undefined) {
      ports[l.name] = parsePort(given, l.flag, { allowZero: true });
      continue;
    }
    const port = overrides.get(`${service.name}.${l.name}`) ?? l.defaultPort + offset;
    ports[l.name] = parsePort(String(port), `${service.name}.${l.name}`);
  }
  const requested = stringFlag(args, 'auth-mode');
  const auth = resolveAuthMode(host, requested === undefined ? undefined : parseAuthMode(requested));
  // Other services of the platform are dialled on this machine by default (a wildcard address is not dialable).
  const dial = connectHost(host);
  const iamPort = service.name === 'iam' ? undefined : plannedPort('iam', 'http', offset, overrides);
  const jwksUrl =
    stringFlag(args, 'jwks-url') ??
    readEnv(ENV.jwksUrl, ctx.env) ??
    (iamPort === undefined ? undefined : `${httpUrl(dial, iamPort)}/.well-known/jwks.json`);
  const storeFlag = stringFlag(args, 'store-endpoints') ?? readEnv(ENV.storeEndpoints, ctx.env);
  const cfGrpc = plannedPort('chainfire', 'grpc', offset, overrides) ?? 50051;
  const storeEndpoints =
    storeFlag === undefined
      ? [formatHostPort(dial, cfGrpc)]
      : parseEndpoints(
          storeFlag,
          stringFlag(args, 'store-endpoints') === undefined ? ENV.storeEndpoints : '--store-endpoints',
        );
  const serviceUrls: Record<string, string> = {};
  for (const other of SERVICES) {
    const port = plannedPort(other.name, 'http', offset, overrides);
    if (other.name !== service.name && port !== undefined) serviceUrls[other.name] = httpUrl(dial, port);
  }
  const urlsEnv = readEnv(ENV.serviceUrls, ctx.env);
  if (urlsEnv !== undefined) Object.assign(serviceUrls, parseServiceUrls(urlsEnv, ENV.serviceUrls));
  if (jwksUrl !== undefined && !/^https?:\/\/\S+$/.test(jwksUrl)) {
    throw new UsageError(`--jwks-url: "${jwksUrl}" is not an http(s) URL`);
  }
  if (auth.mode === 'required' && jwksUrl === undefined && service.name !== 'iam')
    throw requiredNeedsJwks(auth.reason);
  const joinFlag = stringFlag(args, 'join');
  if (joinFlag !== undefined && service.name !== 'chainfire') {
    throw new UsageError(`--join applies to chainfire only, not ${service.name}`);
  }
  const join = joinFlag === undefined ? undefined : parseEndpoints(joinFlag, '--join')[0];
  const initialCluster = stringFlag(args, 'initial-cluster');
  if (initialCluster !== undefined && service.name !== 'chainfire') {
    throw new UsageError(`--initial-cluster applies to chainfire only, not ${service.name}`);
  }
  return {
    ...(join === undefined ? {} : { join }),
    ...(initialCluster === undefined ? {} : { initialCluster }),
    service,
    dataDir,
    serviceDir: dataDirLayout(dataDir).serviceDir(service.name),
    host,
    ports,
    authMode: auth.mode,
    authReason: auth.reason,
    ...(jwksUrl === undefined ? {} : { jwksUrl }),
    storeEndpoints,
    serviceUrls,
    json: boolFlag(args, 'json'),
  };
}

/**
 * Auth mode `required` with nothing to verify tokens against would refuse every request but /health:
 * refuse to start instead, and say what to give.
 */
export function requiredNeedsJwks(reason: string): UsageError {
  return new UsageError(
    `${reason}; that needs IAM's JWKS URL to verify tokens, and none is set`,
    `Set ${ENV.jwksUrl} (or serve --jwks-url) to IAM's JWKS endpoint, or listen on 127.0.0.1 (auth mode local).`,
  );
}

/** Explain a failure to start (a port in use above all) without a stack trace. */
function startFailure(err: unknown, s: ServeSettings): CliError {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(msg)) {
    const ports = Object.entries(s.ports)
      .map(([n, p]) => `${n} ${p}`)
      .join(', ');
    return new CliError(`${s.service.name} cannot listen: a port is already in use (${ports} on ${s.host})`, {
      hint: 'Stop whatever uses it, or pick other ports (serve --help).',
    });
  }
  if (code === 'EACCES' || /EACCES|permission denied/i.test(msg)) {
    return new CliError(`${s.service.name} cannot listen on ${s.host}: permission denied`, {
      hint: 'Ports below 1024 need root.',
    });
  }
  if (code === 'EADDRNOTAVAIL' || /EADDRNOTAVAIL/.test(msg)) {
    return new CliError(`${s.service.name} cannot listen: ${s.host} is not an address of this machine`);
  }
  return new CliError(`${s.service.name} failed to start: ${msg}`);
}

/** Options for tests: where to wait for the stop request instead of process signals. */
export interface ServeOptions {
  logger?: Logger;
  /** Resolves when the service should stop; default: SIGINT/SIGTERM or loss of the supervisor. */
  stopSignal?: Promise<string>;
}

/** Run `serve`; resolves with the exit code once the service has stopped. */
export async function serveCommand(
  argv: readonly string[],
  io: Io,
  ctx: CliEnv,
  opts: ServeOptions = {},
): Promise<number> {
  const s = resolveServeSettings(argv, ctx);
  if (s === 'help') {
    io.out(formatHelp(serveSpec));
    return 0;
  }
  const logger = opts.logger ?? createLogger({ service: s.service.name });
  try {
    await mkdir(s.serviceDir, { recursive: true });
  } catch (err) {
    throw new CliError(`cannot create ${s.serviceDir}: ${(err as Error).message}`, {
      hint: 'Check the data directory (--data-dir): it must be a writable directory.',
    });
  }
  logger.info({ auth_mode: s.authMode, host: s.host, data_dir: s.serviceDir }, s.authReason);
  if (s.authMode === 'required' && s.jwksUrl === undefined) {
    logger.warn(
      `auth mode required without a JWKS URL: no token can be verified, so only /health answers (set --jwks-url or ${ENV.jwksUrl})`,
    );
  }

  // Listen for the stop request before starting: a signal during a slow start must still stop cleanly.
  const stop = opts.stopSignal ?? stopRequested(logger);
  let running: RunningService;
  const stores: Store[] = [];
  let auth: BuiltAuth | undefined;
  const closeStores = async (): Promise<void> => {
    await auth?.close().catch(() => undefined);
    for (const st of stores.splice(0)) await st.close().catch(() => undefined);
  };
  try {
    const openStore = async (): Promise<Store> => {
      // The cluster secret (needed in auth mode required) and TLS settings.
      const st = new EtcdStore({ endpoints: s.storeEndpoints, ...storeAccess(s.dataDir, ctx.env) });
      stores.push(st);
      return st;
    };
    running = await s.service.start({
      dataDir: s.serviceDir,
      host: s.host,
      ports: s.ports,
      authMode: s.authMode,
      logger,
      ...(s.jwksUrl === undefined ? {} : { jwksUrl: s.jwksUrl }),
      storeEndpoints: s.storeEndpoints,
      serviceUrls: s.serviceUrls,
      ...(s.join === undefined ? {} : { join: s.join }),
      ...(s.initialCluster === undefined ? {} : { initialCluster: s.initialCluster }),
      openStore,
      auth: (auth = buildAuth({
        mode: s.authMode,
        ...(s.jwksUrl === undefined ? {} : { jwksUrl: s.jwksUrl }),
        store: openStore,
        serviceName: s.service.name,
        logger,
      })),
    });
  } catch (err) {
    await closeStores();
    logger.error({ err }, 'start failed');
    if (isConfigError(err)) throw err;
    throw startFailure(err, s);
  }
  logger.info({ listeners: running.listeners }, `${s.service.name} ready`);
  if (s.json)
    io.out(JSON.stringify({ service: s.service.name, pid: process.pid, listeners: running.listeners }));

  const reason = await stop;
  logger.info({ reason }, `${s.service.name} stopping`);
  try {
    await running.close();
  } catch (err) {
    logger.error({ err }, 'shutdown failed');
    return 1;
  } finally {
    await closeStores();
  }
  logger.info(`${s.service.name} stopped`);
  return 0;
}

/**
 * Resolves on the first SIGINT/SIGTERM, or when the supervising `photoncloud up` goes away (its IPC
 * channel closes). A second signal exits at once, for an operator who will not wait for the drain.
 */
function stopRequested(logger: Logger): Promise<string> {
  return new Promise((resolve) => {
    let asked = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (asked) {
        logger.error({ signal: sig }, 'second signal: exiting without waiting for the drain');
        process.exit(1);
      }
      asked = true;
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (process.channel !== undefined) {
      // The IPC channel exists only to notice the supervisor's death; it must not keep us alive.
      process.channel.unref();
      process.once('disconnect', () => {
        if (!asked) {
          asked = true;
          resolve('supervisor gone');
        }
      });
    }
  });
}
