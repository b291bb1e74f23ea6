import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ConfigError } from '@photoncloud/config';
import { planPorts, plannedListeners, probePort } from './port-plan.js';
import { SERVICES } from './services.js';
import type { ServiceDefinition } from './services.js';

const fake = (name: string, http: number, grpc?: number): ServiceDefinition => ({
  name,
  title: name,
  summary: name,
  listeners: [
    { name: 'http', defaultPort: http, protocol: 'http', description: 'REST API', flag: '--http-port' },
    ...(grpc === undefined
      ? []
      : [
          {
            name: 'grpc',
            defaultPort: grpc,
            protocol: 'grpc' as const,
            description: 'gRPC',
            flag: '--grpc-port',
          },
        ]),
  ],
  start: () => Promise.reject(new Error('not started in this test')),
});

test('defaults come from the registry (ChainFire: 8081 and 50051)', () => {
  const plan = planPorts(SERVICES);
  assert.deepEqual(plan.get('chainfire'), { http: 8081, grpc: 50051 });
});

test('offset shifts every port; overrides win', () => {
  const svcs = [fake('a', 8081, 50051), fake('b', 8083)];
  const plan = planPorts(svcs, { offset: 1000, overrides: new Map([['a.grpc', 40000]]) });
  assert.deepEqual(plan.get('a'), { http: 9081, grpc: 40000 });
  assert.deepEqual(plan.get('b'), { http: 9083 });
  assert.deepEqual(
    plannedListeners(svcs, plan).map((p) => `${p.service}.${p.listener.name}=${p.port}`),
    ['a.http=9081', 'a.grpc=40000', 'b.http=9083'],
  );
});

test('unknown listeners, clashes and out-of-range results are refused', () => {
  const svcs = [fake('a', 8081, 50051), fake('b', 8083)];
  assert.throws(
    () => planPorts(svcs, { overrides: new Map([['c.http', 1]]) }),
    (e: unknown) => e instanceof ConfigError && /a\.http, a\.grpc, b\.http/.test(e.hint ?? ''),
  );
  assert.throws(
    () => planPorts(svcs, { overrides: new Map([['b.http', 8081]]) }),
    /b\.http and a\.http would both use port 8081/,
  );
  assert.throws(() => planPorts(svcs, { offset: 20000 }), /out of range/);
});

test('probePort tells a free port from one in use', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const addr = srv.address();
  assert.ok(addr !== null && typeof addr === 'object');
  try {
    const busy = await probePort('127.0.0.1', addr.port);
    assert.equal(busy.free, false);
    assert.match(busy.free ? '' : busy.reason, /already in use/);
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
  assert.deepEqual(await probePort('127.0.0.1', addr.port), { free: true });
  const udp = await probePort('127.0.0.1', addr.port, 'udp');
  assert.equal(udp.free, true);
});
