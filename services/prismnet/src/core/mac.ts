/**
 * MAC addresses of ports: generated ones are locally administered unicast (first octet: bit 1 set,
 * bit 0 clear), from an injected random source; given ones are normalised to lower-case colon form and
 * must be unicast and not all zeros.
 */

/** Generate a locally administered unicast MAC from `randomBytes` (must return at least 6 bytes). */
export function generateMac(randomBytes: (count: number) => Uint8Array): string {
  const b = Array.from(randomBytes(6).slice(0, 6));
  if (b.length !== 6) throw new RangeError('generateMac: random source returned fewer than 6 bytes');
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

const MAC = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/** Verdict on a requested MAC address. */
export type MacParse = { ok: true; mac: string } | { ok: false; reason: 'format' | 'multicast' | 'zero' };

/** Normalise `aa:bb:cc:dd:ee:ff` / `AA-BB-…`; refuses multicast/broadcast and all-zero addresses. */
export function parseMac(s: string): MacParse {
  if (!MAC.test(s)) return { ok: false, reason: 'format' };
  const mac = s.toLowerCase().replace(/-/g, ':');
  const first = parseInt(mac.slice(0, 2), 16);
  if ((first & 0x01) === 1) return { ok: false, reason: 'multicast' };
  if (mac === '00:00:00:00:00:00') return { ok: false, reason: 'zero' };
  return { ok: true, mac };
}

/** True when `mac` (normalised) is locally administered unicast. */
export function isLocalUnicast(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 0x03) === 0x02;
}
