/**
 * Which port every listener of the platform gets: the registry's default, plus `--port-offset`, unless
 * `--ports`/PHOTONCLOUD_PORTS names it. Also checks, before anything starts, that every port is free.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { ConfigError, formatHostPort } from '@photoncloud/config';
import type { PortOverrides } from '@photoncloud/config';
import type { ListenerSpec, ServiceDefinition } from './services.js';

/** One listener and the port it will use. */
export interface PlannedListener {
  service: string;
  listener: ListenerSpec;
  port: number;
}

/** Ports per service, per listener name. */
export type PortPlan = Map<string, Record<string, number>>;

/** Compute the port plan; unknown override keys, out-of-range results and clashes are `ConfigError`s. */
export function planPorts(
  services: readonly ServiceDefinition[],
  opts: { offset?: number; overrides?: PortOverrides } = {},
): PortPlan {
  const offset = opts.offset ?? 0;
  const overrides = opts.overrides ?? new Map<string, number>();
  const known = new Set(services.flatMap((s) => s.listeners.map((l) => `${s.name}.${l.name}`)));
  for (const key of overrides.keys()) {
    if (!known.has(key)) {
      throw new ConfigError(
        `port override for unknown listener "${key}"`,
        `Known listeners: ${[...known].join(', ')}`,
      );
    }
  }
  const plan: PortPlan = new Map();
  const used = new Map<number, string>();
  for (const s of services) {
    const ports: Record<string, number> = {};
    for (const l of s.listeners) {
      const key = `${s.name}.${l.name}`;
      const port = overrides.get(key) ?? l.defaultPort + offset;
      if (port < 1 || port > 65535) {
        throw new ConfigError(
          `${key}: port ${l.defaultPort} + offset ${offset} = ${port} is out of range`,
          'Choose a smaller --port-offset.',
        );
      }
      const clash = used.get(port);
      if (clash !== undefined) {
        throw new ConfigError(
          `${key} and ${clash} would both use port ${port}`,
          'Give them different ports with --ports.',
        );
      }
      used.set(port, key);
      ports[l.name] = port;
    }
    plan.set(s.name, ports);
  }
  return plan;
}

/** Flatten a plan into listeners, in registry order. */
export function plannedListeners(services: readonly ServiceDefinition[], plan: PortPlan): PlannedListener[] {
  const out: PlannedListener[] = [];
  for (const s of services) {
    for (const l of s.listeners) {
      const port = plan.get(s.name)?.[l.name];
      if (port !== undefined) out.push({ service: s.name, listener: l, port });
    }
  }
  return out;
}

/** Result of probing one port. */
export type PortProbe = { free: true } | { free: false; reason: string };

/** Can we bind `host:port` right now? (TCP, or UDP for UDP listeners.) The probe socket is closed at once. */
export function probePort(
  host: string,
  port: number,
  protocol: ListenerSpec['protocol'] = 'tcp',
): Promise<PortProbe> {
  const explain = (err: NodeJS.ErrnoException): PortProbe => {
    switch (err.code) {
      case 'EADDRINUSE':
        return { free: false, reason: `${formatHostPort(host, port)} is already in use` };
      case 'EACCES':
        return {
          free: false,
          reason: `no permission to listen on ${formatHostPort(host, port)} (ports below 1024 need root)`,
        };
      case 'EADDRNOTAVAIL':
        return { free: false, reason: `${host} is not an address of this machine` };
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return { free: false, reason: `cannot resolve host ${host}` };
      default:
        return {
          free: false,
          reason: `cannot listen on ${formatHostPort(host, port)}: ${err.code ?? err.message}`,
        };
    }
  };
  if (protocol === 'udp') {
    return new Promise((resolve) => {
      const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', (err: NodeJS.ErrnoException) => {
        sock.close();
        resolve(explain(err));
      });
      sock.bind({ address: host, port, exclusive: true }, () => sock.close(() => resolve({ free: true })));
    });
  }
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(explain(err)));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve({ free: true })));
  });
}
