import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessages, encodeMessages } from './message-codec.js';
import type { Message } from './core/types.js';

test('Raft messages round-trip: appends with entries, snapshots, every other kind', () => {
  const msgs: Message[] = [
    {
      type: 'append',
      from: '1',
      to: '2',
      term: 3,
      prevIndex: 9,
      prevTerm: 2,
      commit: 8,
      entries: [
        { term: 3, index: 10, type: 'normal', data: new Uint8Array([1, 2, 3]) },
        {
          term: 3,
          index: 11,
          type: 'confChange',
          data: new TextEncoder().encode('{"type":"addNode","nodeId":"4"}'),
        },
        { term: 3, index: 12, type: 'normal', data: new Uint8Array(0) },
      ],
    },
    { type: 'appendResp', from: '2', to: '1', term: 3, success: false, index: 9, hintIndex: 5, hintTerm: 2 },
    { type: 'vote', from: '1', to: '2', term: 4, lastIndex: 12, lastTerm: 3, transfer: true },
    { type: 'heartbeat', from: '1', to: '2', term: 3, commit: 7, context: 'r1' },
    { type: 'readIndexResp', from: '1', to: '2', term: 3, index: 7, context: 'x' },
    {
      type: 'snapshot',
      from: '1',
      to: '3',
      term: 3,
      snapshot: {
        meta: { index: 12, term: 3, conf: { voters: ['1', '2'], learners: ['3'] } },
        data: new Uint8Array([9, 8, 7]),
      },
    },
  ];
  assert.deepEqual(decodeMessages(encodeMessages(msgs)), msgs);
  assert.deepEqual(decodeMessages(encodeMessages([])), []);
});

test('malformed frames are rejected, never half-decoded', () => {
  const good = encodeMessages([
    {
      type: 'append',
      from: '1',
      to: '2',
      term: 1,
      prevIndex: 0,
      prevTerm: 0,
      commit: 0,
      entries: [{ term: 1, index: 1, type: 'normal', data: new Uint8Array(10) }],
    },
  ]);
  assert.throws(() => decodeMessages(new Uint8Array([0, 0])), /short frame/);
  assert.throws(() => decodeMessages(good.subarray(0, good.length - 1)), /bad payload length/);
  const bad = Buffer.from(good);
  bad.writeUInt32BE(bad.length, 0);
  assert.throws(() => decodeMessages(bad), /bad header length/);
  const json = (v: unknown): Buffer => {
    const h = Buffer.from(JSON.stringify(v));
    const b = Buffer.alloc(4 + h.length);
    b.writeUInt32BE(h.length, 0);
    h.copy(b, 4);
    return b;
  };
  assert.throws(() => decodeMessages(json({})), /not a list/);
  assert.throws(
    () => decodeMessages(json([{ type: 'nope', from: '1', to: '2', term: 1 }])),
    /bad message type/,
  );
  assert.throws(
    () => decodeMessages(json([{ type: 'vote', from: 1, to: '2', term: 1 }])),
    /bad message fields/,
  );
});
