/** IPv4 CIDR arithmetic for the service and pod networks, shared by k8shost and the node agents. Pure. */

/** A parsed IPv4 CIDR. */
export interface Cidr4 {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

/** `"10.1.2.3"` → number, or null. */
export function parseIp4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

/** number → `"10.1.2.3"`. */
export function formatIp4(v: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}

/** `"10.96.0.0/16"` → Cidr4 (host bits cleared), or null; prefixes longer than `maxPrefix` are refused. */
export function parseCidr4(s: string, maxPrefix = 32): Cidr4 | null {
  const [ip, len, ...rest] = s.split('/');
  if (ip === undefined || len === undefined || rest.length > 0 || !/^\d{1,2}$/.test(len)) return null;
  const prefix = Number(len);
  const v = parseIp4(ip);
  if (v === null || prefix > maxPrefix) return null;
  const size = 2 ** (32 - prefix);
  return { base: v - (v % size), prefix };
}

/** Number of addresses in a CIDR. */
export function cidrSize(c: Cidr4): number {
  return 2 ** (32 - c.prefix);
}

/** Whether an address lies in a CIDR. */
export function cidrContains(c: Cidr4, ip: number): boolean {
  return ip >= c.base && ip < c.base + cidrSize(c);
}
