/**
 * `npm run bench:pods`: pod create → Running latency through k8shost's REST API, against the anchor
 * `runc run --detach` of the same bundle by hand, measured in the same run on the same machine.
 *
 * Setup: ChainFire in-process, k8shost on a free port, a node agent (its own bridge, nft table and
 * CIDRs), and docker-registry on loopback holding the busybox httpd image (pulled once in a warm-up, so
 * both sides start from a cached image). Per run:
 *   - API: POST /api/v1/pods, then poll GET every 5 ms until phase=Running with a pod_ip; then delete
 *     the pod and wait until the agent removed it.
 *   - anchor: a bundle with the same config (built by the same code: same namespaces, limits, process)
 *     over an overlay of the same unpacked image, joined to a netns created beforehand; time
 *     `runc run --detach` until it returns (the container is running); then kill and delete it.
 * Prints medians and the ratio API / runc, and writes bench/results/pods-<timestamp>.json.
 *
 *   npm run bench:pods                # 15 runs each
 *   npm run bench:pods -- --runs=5
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '@photoncloud/test-utils';
import { buildOciSpec } from '../../services/node-agent/src/core/oci-spec.js';
import { call, startCluster } from '../../services/k8shost/test/helpers.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function parseArgs(argv: string[]): { runs: number } {
  let runs = 15;
  for (const a of argv) {
    if (a.startsWith('--runs=')) runs = Number(a.slice(7));
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: bench:pods [--runs=N]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error('bad --runs');
  return { runs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

async function main(): Promise<void> {
  const { runs } = parseArgs(process.argv.slice(2));
  const c = await startCluster({ octet: 231 });
  const benchDir = join(c.dataDir, 'bench');
  const netns = `pcbench-${process.pid}`;
  const runcRoot = join(benchDir, 'runc');
  const api: number[] = [];
  const anchor: number[] = [];
  const args = ['/bin/sh', '-c', 'exec httpd -f -p 8080 -h /www'];
  try {
    const waitRunning = async (name: string): Promise<string> => {
      for (let i = 0; i < 12_000; i++) {
        const r = await call(c.url, 'GET', `/api/v1/pods/default/${name}`);
        if (r.body.data?.phase === 'Running' && r.body.data.pod_ip !== null) return r.body.data.uid as string;
        await new Promise((res) => setTimeout(res, 5));
      }
      throw new Error(`${name} never Running`);
    };
    const waitGone = async (uid: string): Promise<void> => {
      for (let i = 0; i < 3000; i++) {
        const left = await readdir(join(c.dataDir, 'node-agent', 'pods', 'pods')).catch(() => [] as string[]);
        if (!left.includes(uid)) return;
        await new Promise((res) => setTimeout(res, 10));
      }
      throw new Error('pod not cleaned up');
    };
    // Warm-up: pull and unpack the image once.
    log('warm-up (image pull) …');
    await call(c.url, 'POST', '/api/v1/pods', { name: 'warm', image: 'busybox-http:1', command: args });
    const warmUid = await waitRunning('warm');
    await call(c.url, 'DELETE', '/api/v1/pods/default/warm');
    await waitGone(warmUid);

    for (let i = 0; i < runs; i++) {
      const name = `bench-${i}`;
      const t0 = performance.now();
      const r = await call(c.url, 'POST', '/api/v1/pods', { name, image: 'busybox-http:1', command: args });
      if (r.status !== 201) throw new Error(`create answered ${r.status}`);
      const uid = await waitRunning(name);
      api.push(performance.now() - t0);
      await call(c.url, 'DELETE', `/api/v1/pods/default/${name}`);
      await waitGone(uid);
    }

    // The anchor: the same bundle by hand.
    const imagesRoot = join(c.dataDir, 'node-agent', 'pods', 'images', 'rootfs');
    const [imageHex] = (await readdir(imagesRoot)).filter((d) => !d.endsWith('.tmp'));
    if (imageHex === undefined) throw new Error('no unpacked image');
    await sh('ip', ['netns', 'add', netns]);
    for (let i = 0; i < runs; i++) {
      const b = join(benchDir, `b${i}`);
      for (const d of ['upper', 'work', 'bundle/rootfs']) await mkdir(join(b, d), { recursive: true });
      await sh('mount', [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${join(imagesRoot, imageHex)},upperdir=${join(b, 'upper')},workdir=${join(b, 'work')}`,
        join(b, 'bundle/rootfs'),
      ]);
      await writeFile(join(b, 'hosts'), '127.0.0.1\tlocalhost\n');
      const spec = buildOciSpec({
        args,
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=bench'],
        cwd: '/',
        hostname: 'bench',
        netnsPath: `/var/run/netns/${netns}`,
        hostsFile: join(b, 'hosts'),
        memoryLimit: null,
        cpuLimitMilli: null,
        cpuRequestMilli: 0,
        cgroupsPath: `/photoncloud/bench-${i}`,
      });
      await writeFile(join(b, 'bundle', 'config.json'), JSON.stringify(spec));
      const id = `pcbench-${process.pid}-${i}`;
      const t0 = performance.now();
      // stdio not piped: the detached container inherits runc's stdio and would hold a pipe open.
      const child = spawn(
        '/usr/sbin/runc',
        ['--root', runcRoot, 'run', '--detach', '--bundle', join(b, 'bundle'), id],
        {
          stdio: 'ignore',
        },
      );
      const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
      anchor.push(performance.now() - t0);
      if (code !== 0) throw new Error(`runc run --detach exited ${String(code)}`);
      await run('/usr/sbin/runc', ['--root', runcRoot, 'delete', '--force', id]);
      await run('umount', [join(b, 'bundle/rootfs')]);
    }
  } finally {
    await run('ip', ['netns', 'del', netns]);
    await c.close();
  }
  const mApi = median(api);
  const mAnchor = median(anchor);
  const result = {
    runs,
    api_create_to_running_ms: { median: mApi, samples: api },
    runc_run_detach_ms: { median: mAnchor, samples: anchor },
    ratio_api_over_runc: mApi / mAnchor,
    cpus: cpus().length,
    loadavg: loadavg(),
  };
  process.stdout.write(
    [
      `pods: ${runs} runs`,
      `  API create → Running   median ${mApi.toFixed(1)} ms`,
      `  runc run --detach      median ${mAnchor.toFixed(1)} ms`,
      `  ratio API / runc       ${(mApi / mAnchor).toFixed(2)}×`,
      '',
    ].join('\n'),
  );
  const outDir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `pods-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(result, null, 2));
  log(`results written to ${file}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
