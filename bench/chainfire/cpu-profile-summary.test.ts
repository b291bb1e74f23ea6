import { test } from 'node:test';
import assert from 'node:assert/strict';
import { areaOf, formatProfileSummary, summarizeCpuProfile } from './cpu-profile-summary.js';

const ENGINE = 'file:///repo/services/chainfire/src/storage/engine.ts';
const GRPC = 'file:///repo/node_modules/@grpc/grpc-js/build/src/server.js';

// root → idle; root → handle (grpc) → put (ours) → put (ours, recursive) → encode (ours); root → GC
const profile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3, 7] },
    { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    { id: 3, callFrame: { functionName: 'handle', url: GRPC, lineNumber: 9 }, children: [4] },
    { id: 4, callFrame: { functionName: 'put', url: ENGINE, lineNumber: 41 }, children: [5] },
    { id: 5, callFrame: { functionName: 'put', url: ENGINE, lineNumber: 41 }, children: [6] },
    { id: 6, callFrame: { functionName: 'encode', url: ENGINE, lineNumber: 99 } },
    { id: 7, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
  ],
  // Each sample's time is its timeDelta (µs); samples are at 1005000, 1006000, 1008000, 1009000,
  // 1012000, 1013000, 1015000, 1020000.
  samples: [2, 3, 4, 5, 6, 6, 7, 2],
  timeDeltas: [5000, 1000, 2000, 1000, 3000, 1000, 2000, 5000],
  startTime: 1_000_000,
};

test('self time per function and area, idle kept apart', () => {
  const s = summarizeCpuProfile(profile);
  assert.equal(s.idleMs, 10);
  assert.equal(s.busyMs, 10);
  assert.deepEqual(
    s.topFunctions.map((e) => [e.name, e.selfMs]),
    [
      ['encode services/chainfire/src/storage/engine.ts:100', 4],
      ['put services/chainfire/src/storage/engine.ts:42', 3],
      ['(garbage collector)', 2],
      ['handle node_modules/@grpc/grpc-js/build/src/server.js:10', 1],
    ],
  );
  assert.deepEqual(
    s.areas.map((e) => [e.name, e.selfMs, e.share]),
    [
      ['services/chainfire/storage', 7, 0.7],
      ['GC', 2, 0.2],
      ['npm @grpc/grpc-js', 1, 0.1],
    ],
  );
});

test('inclusive time of our functions counts a recursive function once', () => {
  const s = summarizeCpuProfile(profile);
  assert.deepEqual(
    s.ourInclusive.map((e) => [e.name, e.selfMs]),
    [
      // put: its own 3 ms (both frames) + encode's 4 ms, not 3 + 1 + 4 + 4 double-counted.
      ['put services/chainfire/src/storage/engine.ts:42', 7],
      ['encode services/chainfire/src/storage/engine.ts:100', 4],
    ],
  );
  assert.match(
    formatProfileSummary(s, 'test'),
    /^test: busy 0\.0 s, idle 0\.0 s\n self time by area:\n +70\.0% +7 ms +services\/chainfire\/storage/,
  );
});

test('areas of URLs', () => {
  assert.equal(areaOf('node:internal/http2/core', 'request'), 'node internal/http2');
  assert.equal(areaOf('node:internal/buffer', 'from'), 'node internal/buffer');
  assert.equal(areaOf('node:events', 'emit'), 'node events');
  assert.equal(areaOf('file:///r/node_modules/lmdb/read.js', 'get'), 'npm lmdb');
  assert.equal(areaOf('file:///r/packages/raft/src/log.ts', 'append'), 'packages/raft');
  assert.equal(areaOf('', '(program)'), 'V8/native (program)');
});

test('windows keep only the samples taken inside them', () => {
  // 1006000..1009000 holds the handle, outer put and inner put samples; 1015000 the GC one.
  const s = summarizeCpuProfile(profile, {
    windows: [
      { startUs: 1_006_000, endUs: 1_009_000 },
      { startUs: 1_014_000, endUs: 1_016_000 },
    ],
  });
  assert.equal(s.idleMs, 0);
  assert.equal(s.busyMs, 1 + 2 + 1 + 2);
  assert.deepEqual(
    s.areas.map((e) => [e.name, e.selfMs]),
    [
      ['services/chainfire/storage', 3],
      ['GC', 2],
      ['npm @grpc/grpc-js', 1],
    ],
  );
  assert.equal(summarizeCpuProfile(profile, { windows: [] }).busyMs, 0);
});
