/** Formats a float as Go's strconv.FormatFloat(v, 'f', -1, 64) does, with Prometheus' +Inf/-Inf/NaN. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  if (!/e/i.test(s)) return s;
  // Expand JS exponent notation into plain decimal digits (the shortest round-trip digits are kept).
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  const [mant = '', expStr = '0'] = body.split(/e/i);
  const exp = Number(expStr);
  const [intPart = '', fracPart = ''] = mant.split('.');
  const digits = intPart + fracPart;
  const point = intPart.length + exp; // position of the decimal point within digits
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return (neg ? '-' : '') + out;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Parses a Prometheus duration (`1h30m`, `5m`, `10s`, `1ms`, `2d`, `1w`, `1y`) into milliseconds. */
export function parseDuration(s: string): number {
  if (s === '') throw new Error('empty duration string');
  if (s === '0') return 0;
  const re = /(\d+)(ms|s|m|h|d|w|y)/y;
  let pos = 0;
  let total = 0;
  let lastRank = -1;
  const order = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new Error(`not a valid duration string: "${s}"`);
    const unit = m[2] as string;
    const rank = order.indexOf(unit);
    if (rank <= lastRank) throw new Error(`not a valid duration string: "${s}"`);
    lastRank = rank;
    total += Number(m[1]) * (UNIT_MS[unit] as number);
    pos = re.lastIndex;
  }
  return total;
}

/** Formats milliseconds as a Prometheus duration string (e.g. `1h30m`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = '';
  let rest = ms;
  if (rest < 0) {
    out = '-';
    rest = -rest;
  }
  for (const u of ['y', 'w', 'd', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[u] as number;
    if (rest >= size) {
      out += String(Math.floor(rest / size)) + u;
      rest %= size;
    }
  }
  return out;
}

/**
 * Parses a float the way Go's strconv.ParseFloat does for PromQL literals: decimal, exponent, hex
 * integers (`0x1F`), octal-looking integers are decimal, `Inf`/`NaN` case-insensitive with a sign.
 */
export function parseGoFloat(text: string): number {
  const s = text.trim();
  const m = /^([+-]?)(.*)$/s.exec(s);
  const sign = m?.[1] === '-' ? -1 : 1;
  const body = (m?.[2] ?? '').toLowerCase();
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return sign * Number(body);
  throw new Error(`invalid number "${text}"`);
}
