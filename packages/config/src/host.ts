/** Listen addresses: validation, loopback detection and URL formatting. */
import { isIP } from 'node:net';
import { ConfigError } from './config-error.js';

const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Validate a listen host (an IPv4/IPv6 literal, without brackets, or a host name); returns it trimmed. */
export function parseHost(value: string, what = '--host'): string {
  let t = value.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (t === '' || (isIP(t) === 0 && !HOSTNAME.test(t))) {
    throw new ConfigError(
      `${what}: "${value}" is not an IP address or host name`,
      'Examples: 127.0.0.1, ::1, 0.0.0.0, 10.0.0.5',
    );
  }
  return t;
}

/** True when `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** True for the wildcard addresses (every interface). */
export function isWildcardHost(host: string): boolean {
  const h = host.trim();
  return h === '0.0.0.0' || h === '::' || h === '0:0:0:0:0:0:0:0';
}

/**
 * The address a local client should connect to for a server listening on `host`: wildcards become the
 * matching loopback address, anything else is used as is.
 */
export function connectHost(host: string): string {
  const h = host.trim();
  if (h === '0.0.0.0') return '127.0.0.1';
  if (h === '::' || h === '0:0:0:0:0:0:0:0') return '::1';
  return h;
}

/** `host:port`, with brackets around IPv6 literals (`[::1]:8081`). */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `http://host:port` for a client of a server listening on `host` (wildcards → loopback). */
export function httpUrl(host: string, port: number): string {
  return `http://${formatHostPort(connectHost(host), port)}`;
}
