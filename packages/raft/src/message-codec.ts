/**
 * Wire encoding of Raft messages between ChainFire peers.
 *
 * Layout: `u32 headerLength | header (JSON) | payload bytes`. The header is the message list with
 * every byte field (entry data, snapshot data) replaced by its length; the payloads follow in the
 * same order. JSON keeps the format readable and versionable; the bulk (entry payloads) is copied
 * once, never base64-encoded.
 */
import type { Entry, Message } from './core/types.js';

interface WireEntry {
  t: number;
  i: number;
  c?: 1;
  n: number;
}

type WireMessage = Record<string, unknown>;

/** Encode a batch of messages (all for the same peer, usually). */
export function encodeMessages(messages: Message[]): Buffer {
  const payloads: Uint8Array[] = [];
  const wire: WireMessage[] = messages.map((m) => {
    if (m.type === 'append') {
      const entries: WireEntry[] = m.entries.map((e) => {
        payloads.push(e.data);
        const w: WireEntry = { t: e.term, i: e.index, n: e.data.length };
        if (e.type === 'confChange') w.c = 1;
        return w;
      });
      return { ...m, entries };
    }
    if (m.type === 'snapshot') {
      payloads.push(m.snapshot.data);
      return { ...m, snapshot: { meta: m.snapshot.meta, n: m.snapshot.data.length } };
    }
    return { ...m };
  });
  const header = Buffer.from(JSON.stringify(wire), 'utf8');
  let total = 4 + header.length;
  for (const p of payloads) total += p.length;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(header.length, 0);
  header.copy(out, 4);
  let off = 4 + header.length;
  for (const p of payloads) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const TYPES = new Set([
  'vote',
  'preVote',
  'voteResp',
  'preVoteResp',
  'append',
  'appendResp',
  'heartbeat',
  'heartbeatResp',
  'snapshot',
  'readIndex',
  'readIndexResp',
  'timeoutNow',
]);

/** Decode what `encodeMessages` produced; throws on malformed input. */
export function decodeMessages(buf: Uint8Array): Message[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 4) throw new Error('raft codec: short frame');
  const hlen = b.readUInt32BE(0);
  if (4 + hlen > b.length) throw new Error('raft codec: bad header length');
  const wire = JSON.parse(b.subarray(4, 4 + hlen).toString('utf8')) as unknown;
  if (!Array.isArray(wire)) throw new Error('raft codec: header is not a list');
  let off = 4 + hlen;
  const take = (n: unknown): Uint8Array => {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || off + n > b.length)
      throw new Error('raft codec: bad payload length');
    // Copy: the entry outlives the receive buffer (it sits in the log).
    const out = new Uint8Array(n);
    out.set(b.subarray(off, off + n));
    off += n;
    return out;
  };
  return wire.map((w: unknown) => {
    if (typeof w !== 'object' || w === null) throw new Error('raft codec: bad message');
    const m = w as Record<string, unknown>;
    if (typeof m.type !== 'string' || !TYPES.has(m.type)) throw new Error('raft codec: bad message type');
    if (typeof m.from !== 'string' || typeof m.to !== 'string' || typeof m.term !== 'number')
      throw new Error('raft codec: bad message fields');
    if (m.type === 'append') {
      if (!Array.isArray(m.entries)) throw new Error('raft codec: bad entries');
      m.entries = (m.entries as WireEntry[]).map((e): Entry => ({
        term: e.t,
        index: e.i,
        type: e.c === 1 ? 'confChange' : 'normal',
        data: take(e.n),
      }));
    } else if (m.type === 'snapshot') {
      const s = m.snapshot as { meta: unknown; n: unknown };
      m.snapshot = { meta: s.meta, data: take(s.n) };
    }
    return m as unknown as Message;
  });
}
