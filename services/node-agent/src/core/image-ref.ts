/**
 * Image references, pure: `nginx:1.21`, `library/busybox@sha256:…`, `127.0.0.1:5000/app/web:v2`.
 * A reference without a registry host resolves against the configured default registry.
 */

/** A resolved image reference. */
export interface ImageRef {
  /** `host[:port]`. */
  registry: string;
  /** Repository path, e.g. `nginx` or `team/app`. */
  repository: string;
  /** Tag or digest (`sha256:…`). */
  reference: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parse a reference; null when it is not one. */
export function parseImageRef(ref: string, defaultRegistry: string): ImageRef | null {
  let rest = ref;
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(reference)) return null;
  } else {
    const slash = rest.lastIndexOf('/');
    const colon = rest.lastIndexOf(':');
    if (colon > slash) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (!TAG.test(reference)) return null;
    }
  }
  const parts = rest.split('/');
  let registry = defaultRegistry;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) return null;
  return { registry, repository: parts.join('/'), reference };
}

/** Whether a registry host is loopback (spoken to over plain HTTP). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[')
    ? registry.slice(1, registry.indexOf(']'))
    : (registry.split(':')[0] ?? '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
