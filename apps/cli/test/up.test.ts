/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically in assertions. */
/**
 * `photoncloud up` end to end, as an operator runs it: start the platform with explicit free ports,
 * run the guide's ChainFire curl examples verbatim (only the port differs) and etcdctl against the
 * gRPC endpoint, kill -9 ChainFire and watch the supervisor restart it with the data intact, then stop
 * everything with SIGTERM and check nothing is left running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { freePort, run, startProcess, tempDir, waitFor } from '@photoncloud/test-utils';
import type { StartedProcess, TempDir } from '@photoncloud/test-utils';
import { SERVICES } from '../src/services.js';

const BIN = fileURLToPath(new URL('../../../bin/photoncloud', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Run one of the guide's curl commands through the shell, exactly as written there, on our port. */
async function curl(command: string, httpPort: number): Promise<{ status: number; body: any }> {
  const cmd = command.replaceAll('localhost:8081', `localhost:${httpPort}`);
  // -s: no progress meter; -w: the status code on its own last line.
  const r = await run('bash', ['-c', cmd.replace(/^curl /, 'curl -s -w "\\n%{http_code}" ')], {
    timeoutMs: 15_000,
  });
  assert.equal(r.code, 0, `${cmd}\n${r.stderr}`);
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) };
}

/** A free port for every listener of every service, as `up --ports` takes them; ChainFire's are returned too. */
async function platformPorts(): Promise<{
  arg: string;
  http: number;
  grpc: number;
  chosen: Map<string, number>;
}> {
  const parts: string[] = [];
  const chosen = new Map<string, number>();
  for (const s of SERVICES) {
    for (const l of s.listeners) {
      const port = await freePort();
      chosen.set(`${s.name}.${l.name}`, port);
      parts.push(`${s.name}.${l.name}=${port}`);
    }
  }
  return {
    arg: parts.join(','),
    http: chosen.get('chainfire.http')!,
    grpc: chosen.get('chainfire.grpc')!,
    chosen,
  };
}

/** The HTTP port of a service as up.json records it. */
async function platformHttpPort(upFile: string, name: string): Promise<number | undefined> {
  const state = JSON.parse(readFileSync(upFile, 'utf8')) as {
    services: Array<{ name: string; listeners: Array<{ name: string; port: number }> }>;
  };
  return state.services.find((s) => s.name === name)?.listeners.find((l) => l.name === 'http')?.port;
}

/** PIDs of every service `up` recorded in up.json. */
function servicePids(upFile: string): number[] {
  const state = JSON.parse(readFileSync(upFile, 'utf8')) as { services: Array<{ pid: number | null }> };
  return state.services.flatMap((s) => (s.pid === null ? [] : [s.pid]));
}

function chainfirePid(upFile: string): number | null {
  try {
    const state = JSON.parse(readFileSync(upFile, 'utf8')) as {
      services: Array<{ name: string; pid: number | null }>;
    };
    return state.services.find((s) => s.name === 'chainfire')?.pid ?? null;
  } catch {
    return null;
  }
}

describe('photoncloud up', () => {
  let dir: TempDir;
  let up: StartedProcess;
  let http: number;
  let grpc: number;
  let upFile: string;
  let nightlight: number;
  const childPids = new Set<number>();

  before(async () => {
    dir = await tempDir('pc-up-');
    const ports = await platformPorts();
    http = ports.http;
    grpc = ports.grpc;
    nightlight = ports.chosen.get('nightlight.http')!;
    upFile = join(dir.path, 'run', 'up.json');
    up = await startProcess(process.execPath, [BIN, 'up', '--data-dir', dir.path, '--ports', ports.arg], {
      cwd: dir.path,
      env: { PHOTONCLOUD_LOG_LEVEL: 'info' },
    });
    // The last line of the start-up report: the table above it is complete.
    await up.waitForOutput('Press Ctrl-C to stop', 120_000);
  });

  after(async () => {
    await up?.stop('SIGTERM', 20_000);
    // Whatever the test did, no ChainFire it caused may outlive it (killed by PID, only ours).
    for (const pid of childPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await dir?.cleanup();
  });

  test('prints what listens, the auth mode, and records it in up.json', () => {
    const out = up.stdout();
    assert.match(out, /^Auth mode local: listening on loopback \(127\.0\.0\.1\)/m);
    assert.match(out, new RegExp(`chainfire +\\d+ +http://127\\.0\\.0\\.1:${http} +REST API`));
    assert.match(out, new RegExp(`127\\.0\\.0\\.1:${grpc} +etcd v3 gRPC API`));
    const state = JSON.parse(readFileSync(upFile, 'utf8'));
    assert.equal(state.pid, up.pid);
    assert.equal(state.state, 'running');
    assert.equal(state.auth_mode, 'local');
    assert.deepEqual(
      state.services.map((x: any) => [x.name, x.state]),
      SERVICES.map((x) => [x.name, 'running']),
    );
    for (const svc of state.services) childPids.add(svc.pid);
    assert.match(out, new RegExp(`PhotonCloud is up \\(${SERVICES.length} services, auth mode local\\)`));
    const cf = state.services[0];
    assert.equal(cf.name, 'chainfire');
    assert.equal(cf.state, 'running');
    assert.ok(alive(cf.pid));
    childPids.add(cf.pid);
    assert.deepEqual(
      cf.listeners.map((l: any) => [l.name, l.port]),
      [
        ['http', http],
        ['grpc', grpc],
      ],
    );
    assert.ok(existsSync(join(dir.path, 'logs', 'chainfire.log')));
    assert.ok(existsSync(join(dir.path, 'chainfire')));
  });

  test("the guide's ChainFire curl examples answer as documented", async () => {
    const health = await curl('curl http://localhost:8081/health', http);
    assert.equal(health.status, 200);
    assert.equal(health.body.data.status, 'healthy');

    const status = await curl('curl http://localhost:8081/api/v1/cluster/status', http);
    assert.equal(status.status, 200);
    assert.equal(status.body.data.role, 'leader');
    assert.equal(status.body.data.is_leader, true);
    assert.ok(Number.isInteger(status.body.data.term) && status.body.data.term >= 1);
    assert.ok(status.body.data.node_id !== undefined && typeof status.body.data.cluster_id === 'string');
    assert.equal(typeof status.body.meta.request_id, 'string');

    const put = await curl(
      `curl -X POST http://localhost:8081/api/v1/kv/user:123/put \\
  -H "Content-Type: application/json" \\
  -d '{"value": "{\\"name\\":\\"alice\\",\\"email\\":\\"alice@example.com\\"}"}'`,
      http,
    );
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.success, true);

    const get = await curl('curl http://localhost:8081/api/v1/kv/user:123', http);
    assert.equal(get.status, 200);
    assert.equal(get.body.data.key, 'user:123');
    assert.equal(get.body.data.value, '{"name":"alice","email":"alice@example.com"}');

    const put2 = await curl(
      `curl -X POST http://localhost:8081/api/v1/kv/user:456/put -H "Content-Type: application/json" -d '{"value": "bob"}'`,
      http,
    );
    assert.equal(put2.status, 200);
    const scan = await curl('curl "http://localhost:8081/api/v1/kv?prefix=user:"', http);
    assert.equal(scan.status, 200);
    assert.deepEqual(
      scan.body.data.items.map((i: any) => [i.key, i.value]),
      [
        ['user:123', '{"name":"alice","email":"alice@example.com"}'],
        ['user:456', 'bob'],
      ],
    );

    const del = await curl('curl -X POST http://localhost:8081/api/v1/kv/user:456/delete', http);
    assert.equal(del.status, 200);
    assert.equal(del.body.success, true);
    const gone = await curl('curl http://localhost:8081/api/v1/kv/user:456', http);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.success, false);
    assert.equal(gone.body.error.code, 'NOT_FOUND');
  });

  test('etcdctl talks to the etcd v3 gRPC endpoint, over the same data', async () => {
    const endpoints = `--endpoints=127.0.0.1:${grpc}`;
    const put = await run('etcdctl', [endpoints, 'put', 'greeting', 'hello'], { env: { ETCDCTL_API: '3' } });
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout.trim(), 'OK');
    const get = await run('etcdctl', [endpoints, 'get', 'user:123'], { env: { ETCDCTL_API: '3' } });
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, 'user:123\n{"name":"alice","email":"alice@example.com"}\n');
    const rest = await curl('curl http://localhost:8081/api/v1/kv/greeting', http);
    assert.equal(rest.body.data.value, 'hello');
  });

  test("NightLight scrapes every service's /metrics: `up` is 1 for each", async () => {
    const expected = SERVICES.map((x) => x.name).sort();
    const seen = await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${nightlight}/api/v1/query?query=up`);
        const body = (await r.json()) as any;
        const up1 = (body.data?.result ?? [])
          .filter((x: any) => x.value?.[1] === '1')
          .map((x: any) => `${x.metric.job}@${x.metric.instance}`);
        return up1.length >= expected.length ? up1 : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'an up=1 series for every service' },
    );
    for (const name of expected) {
      const http = (await platformHttpPort(upFile, name))!;
      assert.ok(
        seen.includes(`${name}@127.0.0.1:${http}`),
        `${name} (port ${http}) scraped: ${seen.join(' ')}`,
      );
    }
  });

  test('photoncloud status reports the running platform and the cluster', async () => {
    const r = await run(process.execPath, [BIN, 'status', '--data-dir', dir.path], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`PhotonCloud is running: pid ${up.pid}`));
    assert.match(r.stdout, /chainfire: healthy — running/);
    assert.match(r.stdout, new RegExp(`http://127\\.0\\.0\\.1:${http} +REST API`));
    assert.match(r.stdout, /cluster: node \S+ is leader \(leader\), term \d+/);
  });

  test('a ChainFire killed with kill -9 is restarted and its data survives', async () => {
    const before = chainfirePid(upFile);
    assert.ok(before !== null && alive(before));
    const k = await run('kill', ['-9', String(before)]);
    assert.equal(k.code, 0, k.stderr);
    const after = await waitFor(
      () => {
        const pid = chainfirePid(upFile);
        return pid !== null && pid !== before && alive(pid) ? pid : undefined;
      },
      { timeoutMs: 60_000, what: 'a new ChainFire pid in up.json' },
    );
    childPids.add(after);
    await up.waitForOutput(`chainfire is ready again (pid ${after})`, 120_000);
    assert.match(up.stdout(), new RegExp(`chainfire \\(pid ${before}\\) killed by SIGKILL; restarting in`));
    const get = await curl('curl http://localhost:8081/api/v1/kv/user:123', http);
    assert.equal(get.status, 200);
    assert.equal(get.body.data.value, '{"name":"alice","email":"alice@example.com"}');
    const etcd = await run(
      'etcdctl',
      [`--endpoints=127.0.0.1:${grpc}`, 'get', 'greeting', '--print-value-only'],
      { env: { ETCDCTL_API: '3' } },
    );
    assert.equal(etcd.stdout, 'hello\n');
    const state = JSON.parse(readFileSync(upFile, 'utf8'));
    assert.equal(state.services[0].restarts, 1);
    assert.equal(state.services[0].state, 'running');
  });

  test('SIGTERM stops every child and removes the run state', async () => {
    const pids = [...childPids];
    const { code } = await up.stop('SIGTERM', 30_000);
    assert.equal(code, 0, up.stdout() + up.stderr());
    assert.match(up.stdout(), /Stopping PhotonCloud \(SIGTERM\)/);
    assert.match(up.stdout(), / {2}chainfire stopped\n/);
    assert.match(up.stdout(), /PhotonCloud stopped\./);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still alive`);
    assert.equal(existsSync(upFile), false);
    const status = await run(process.execPath, [BIN, 'status', '--data-dir', dir.path], {
      timeoutMs: 30_000,
    });
    assert.equal(status.code, 1);
    assert.match(status.stdout, /PhotonCloud is not running/);
    // The ChainFire log shows a graceful stop, not a kill.
    assert.match(readFileSync(join(dir.path, 'logs', 'chainfire.log'), 'utf8'), /"msg":"chainfire stopped"/);
  });
});

test('when up itself is killed (SIGKILL), its children shut down by themselves', async () => {
  const dir = await tempDir('pc-up-orphan-');
  const { arg: ports } = await platformPorts();
  const up = await startProcess(process.execPath, [BIN, 'up', '--data-dir', dir.path, '--ports', ports], {
    cwd: dir.path,
  });
  let children: number[] = [];
  try {
    await up.waitForOutput('PhotonCloud is up', 120_000);
    children = servicePids(join(dir.path, 'run', 'up.json'));
    assert.equal(children.length, SERVICES.length);
    for (const pid of children) assert.ok(alive(pid));
    await up.stop('SIGKILL');
    await waitFor(() => children.every((pid) => !alive(pid)), {
      timeoutMs: 30_000,
      what: `service pids ${children.join(', ')} to exit after their supervisor died`,
    });
    assert.match(readFileSync(join(dir.path, 'logs', 'chainfire.log'), 'utf8'), /"reason":"supervisor gone"/);
    // The run state left behind is recognised as stale.
    const status = await run(process.execPath, [BIN, 'status', '--data-dir', dir.path], {
      timeoutMs: 30_000,
    });
    assert.equal(status.code, 1);
    assert.match(status.stdout, /not running \(stale .*up\.json left by pid \d+\)/);
  } finally {
    await up.stop('SIGKILL');
    for (const pid of children) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await dir.cleanup();
  }
});

test('up --auth-mode required: says so, and the services demand tokens (verified against the JWKS)', async () => {
  const dir = await tempDir('pc-up-required-');
  const jwks = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  const { arg: ports, http: httpPort, grpc: grpcPort } = await platformPorts();
  // PHOTONCLOUD_JWKS_URL overrides the default (the JWKS of the IAM that `up` starts).
  const up = await startProcess(
    process.execPath,
    [BIN, 'up', '--data-dir', dir.path, '--ports', ports, '--auth-mode', 'required'],
    {
      cwd: dir.path,
      env: { PHOTONCLOUD_JWKS_URL: jwksUrl },
    },
  );
  try {
    await up.waitForOutput('PhotonCloud is up', 120_000);
    assert.match(up.stdout(), /^Auth mode required \(set explicitly\)\./m);
    assert.match(
      up.stdout(),
      new RegExp(`PhotonCloud is up \\(${SERVICES.length} services, auth mode required\\)`),
    );
    const health = await curl('curl http://localhost:8081/health', httpPort);
    assert.equal(health.status, 200);
    const denied = await curl('curl http://localhost:8081/api/v1/kv/user:123', httpPort);
    assert.equal(denied.status, 401);
    assert.equal(denied.body.error.code, 'UNAUTHORIZED');
    // The etcd API on the gRPC port too: no credentials, no keyspace (the services use the cluster secret).
    const ctl = await run('etcdctl', [`--endpoints=127.0.0.1:${grpcPort}`, 'get', '--prefix', ''], {
      env: { ETCDCTL_API: '3' },
    });
    assert.notEqual(ctl.code, 0);
    assert.match(ctl.stderr, /authentication required/);
    // /metrics stays public (ADR 0003) so that NightLight's scrapes work in this mode too.
    const metrics = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
    assert.equal(metrics.status, 200);
    // status shows the service healthy but cannot read the cluster status without a token.
    const status = await run(process.execPath, [BIN, 'status', '--data-dir', dir.path], {
      timeoutMs: 30_000,
    });
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /cluster: unavailable \(UNAUTHORIZED: /);
    const { code } = await up.stop('SIGTERM', 30_000);
    assert.equal(code, 0);
  } finally {
    await up.stop('SIGKILL');
    await new Promise<void>((r) => jwks.close(() => r()));
    await dir.cleanup();
  }
});
