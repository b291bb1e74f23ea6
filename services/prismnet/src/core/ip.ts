/**
 * IP addresses as numbers: IPv4 and IPv6 parsed to a `bigint` so that both families share one set of
 * range arithmetic (IPv6 needs 128 bits, beyond JS numbers). Parsing is strict — the forms an operator
 * types, nothing ambiguous (no leading zeros in IPv4 octets, which some tools read as octal; no zone IDs).
 * Formatting is canonical (RFC 5952 for IPv6), so one address has exactly one spelling in keys and output.
 */

/** Address family. */
export type IpFamily = 4 | 6;

/** One address. */
export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

/** Number of bits of an address of `family`. */
export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Largest address value of `family`. */
export function maxAddress(family: IpFamily): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

const OCTET = /^(0|[1-9]\d{0,2})$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseGroups(s: string, allowV4Tail: boolean): number[] | undefined {
  if (s === '') return [];
  const parts = s.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIpv4(p);
      if (v4 === undefined) return undefined;
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      if (!HEXTET.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

function parseIpv6(s: string): bigint | undefined {
  if (s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!, false);
    const tail = parseGroups(halves[1]!, true);
    if (head === undefined || tail === undefined) return undefined;
    // "::" stands for at least one zero group.
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parse an IPv4 or IPv6 address; `undefined` when `s` is not one. */
export function parseIp(s: string): IpAddress | undefined {
  if (s.includes(':')) {
    const v = parseIpv6(s);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseIpv4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** Canonical text of an address: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as "::"). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zero groups (the first one on a tie), compressed only when at least two long.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** Canonical text of `s`, or `undefined` when it is not an address. */
export function canonicalIp(s: string): string | undefined {
  const ip = parseIp(s);
  return ip === undefined ? undefined : formatIp(ip);
}
