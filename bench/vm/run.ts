/**
 * `npm run bench:vm`: PlasmaVMC VM start time against its anchor, and VMs per host.
 *
 * 1. create→Running: the time from `POST /api/v1/vms` until `GET /api/v1/vms/{id}` reads Running (API,
 *    ChainFire write, the node agent's watch, qcow2 disk, QEMU launch, QMP check, status write back), against
 *    launching the same `qemu-system-x86_64` command line by hand (daemonized, until QMP answers
 *    `query-status`). Both sides run a 1-vCPU VM with no image, N times each; medians and their ratio.
 * 2. VMs per host: a few VMs booting a real guest (Debian kernel + busybox initramfs, as in the integration
 *    test) through the API; once each has printed its boot marker its QEMU's RSS is read from /proc, and the
 *    host's capacity is MemAvailable / median RSS (idle guests; QEMU allocates guest memory lazily), next to
 *    the worst case MemAvailable / (memory_mib + measured QEMU overhead) when every guest touches all of its
 *    memory. Nothing is actually run until memory is exhausted.
 *
 *   npm run bench:vm                    # 5 runs each, 3 VMs for the RSS sample
 *   npm run bench:vm -- --quick         # 3 runs, 2 VMs
 *   npm run bench:vm -- --runs=10 --vms=4 --memory=256
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger } from '@photoncloud/log';
import type { VmSpecRecord } from '@photoncloud/plasmavmc-api';
import { PlasmaVmcClient } from '@photoncloud/plasmavmc-api';
import { tempDir, waitFor } from '@photoncloud/test-utils';
import { openChainFire } from '../../services/chainfire/src/engine.js';
import { startVmAgent } from '../../services/node-agent/src/vm/index.js';
import { kvmUsable, qemuArgs, vmPaths } from '../../services/node-agent/src/vm/qemu.js';
import { qmpCommand } from '../../services/node-agent/src/vm/qmp.js';
import { startPlasmaVmcServer } from '../../services/plasmavmc/src/server.js';
import { buildInitramfs, GUEST_MARKER, hostKernel } from '../../services/plasmavmc/test/initramfs.js';

const exec = promisify(execFile);
const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const scope = { org_id: 'bench', project_id: 'bench' };

interface Options {
  runs: number;
  vms: number;
  memoryMib: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { runs: 5, vms: 3, memoryMib: 256 };
  for (const a of argv) {
    if (a === '--quick') {
      opts.runs = 3;
      opts.vms = 2;
    } else if (a.startsWith('--runs=')) opts.runs = Number(a.slice(7));
    else if (a.startsWith('--vms=')) opts.vms = Number(a.slice(6));
    else if (a.startsWith('--memory=')) opts.memoryMib = Number(a.slice(9));
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: bench:vm [--quick] [--runs=N] [--vms=N] [--memory=MiB]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (
    ![opts.runs, opts.vms, opts.memoryMib].every((n) => Number.isInteger(n) && n >= 1) ||
    opts.memoryMib < 64
  )
    throw new Error('bad option value');
  return opts;
}

function log(msg: string): void {
  process.stderr.write(`[bench:vm] ${msg}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function memAvailableKib(): Promise<number> {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(await readFile('/proc/meminfo', 'utf8'));
  if (m === null) throw new Error('no MemAvailable in /proc/meminfo');
  return Number(m[1]);
}

async function rssKib(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

/** A spec record equivalent to what the API writes for a firmware-only VM. */
function handSpec(id: string, memoryMib: number): VmSpecRecord {
  const now = new Date().toISOString();
  return {
    id,
    name: id,
    ...scope,
    vcpus: 1,
    memory_mib: memoryMib,
    hypervisor: 'kvm',
    image_id: null,
    disk_size_gb: null,
    boot: { disk_path: null, disk_format: null, kernel_path: null, initrd_path: null, cmdline: null },
    subnet_id: null,
    port_id: null,
    ip_address: null,
    mac_address: '52:54:00:be:0c:01',
    desired: 'Running',
    generation: 1,
    reboot_seq: 0,
    force_stop: false,
    stop_timeout_seconds: 30,
    reservation_id: null,
    quota_consumed: false,
    created_at: now,
    updated_at: now,
  };
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const load = loadavg()[0] ?? 0;
  if (load > 0.5 * cpus().length)
    log(`warning: load average is ${load.toFixed(1)} on ${cpus().length} CPUs; figures will be noisy`);
  const kvm = await kvmUsable();
  const accel = kvm ? 'kvm' : 'tcg';
  log(`accelerator: ${accel}`);

  const dir = await tempDir('bench-vm-');
  const store = await openChainFire({ dataDir: join(dir.path, 'chainfire') });
  const logger = createLogger({ service: 'bench-vm', level: 'silent' });
  const server = await startPlasmaVmcServer({
    store,
    dataDir: join(dir.path, 'plasmavmc'),
    auth: { mode: 'local' },
    logger,
  });
  const agentDir = join(dir.path, 'agent');
  const agent = await startVmAgent({ store, dataDir: agentDir, nodeName: 'bench', logger });
  const client = new PlasmaVmcClient({ baseUrl: server.url });
  const handPids: number[] = [];
  try {
    // 1. create→Running vs the same QEMU by hand, interleaved.
    const api: number[] = [];
    const hand: number[] = [];
    const handRss: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const t0 = performance.now();
      const vm = await client.createVm({
        name: `start-${i}`,
        ...scope,
        vcpus: 1,
        memory_mib: opts.memoryMib,
      });
      await waitFor(async () => (await client.getVm(vm.id, scope)).state === 'Running', {
        timeoutMs: 60_000,
        intervalMs: 5,
        what: 'Running',
      });
      api.push(performance.now() - t0);
      await client.deleteVm(vm.id, scope);

      const id = `hand-${randomBytes(4).toString('hex')}`;
      const paths = vmPaths(join(dir.path, 'hand'), id);
      await mkdir(paths.dir, { recursive: true });
      const args = qemuArgs(handSpec(id, opts.memoryMib), paths, accel);
      const t1 = performance.now();
      await exec('qemu-system-x86_64', [...args, '-daemonize', '-pidfile', paths.pidfile]);
      const st = (await qmpCommand(paths.qmp, 'query-status')) as { status?: string };
      hand.push(performance.now() - t1);
      if (st.status !== 'running') throw new Error(`hand-launched QEMU is ${st.status ?? '?'}`);
      const pid = Number((await readFile(paths.pidfile, 'utf8')).trim());
      handPids.push(pid);
      handRss.push(await rssKib(pid));
      await qmpCommand(paths.qmp, 'quit').catch(() => undefined);
      log(
        `run ${i + 1}/${opts.runs}: api ${api.at(-1)?.toFixed(0)} ms, by hand ${hand.at(-1)?.toFixed(0)} ms`,
      );
    }
    await waitFor(async () => (await client.listVms(scope)).length === 0, {
      timeoutMs: 60_000,
      what: 'cleanup',
    });

    // 2. VMs per host from the RSS of booted guests.
    const kernel = await hostKernel();
    const img = await client.createImage({
      name: 'busybox',
      ...scope,
      format: 'kernel',
      cmdline: 'console=ttyS0 quiet panic=-1',
    });
    await client.uploadImagePart(img.id, 'kernel', await readFile(kernel.path), scope);
    await client.uploadImagePart(img.id, 'initrd', await buildInitramfs(kernel.version), scope);
    const memBefore = await memAvailableKib();
    const ids: string[] = [];
    for (let i = 0; i < opts.vms; i++) {
      const vm = await client.createVm({
        name: `rss-${i}`,
        ...scope,
        vcpus: 1,
        memory_mib: opts.memoryMib,
        image_id: img.id,
      });
      ids.push(vm.id);
    }
    const rss: number[] = [];
    for (const id of ids) {
      const serialLog = vmPaths(agentDir, id).serialLog;
      await waitFor(async () => (await readFile(serialLog, 'utf8').catch(() => '')).includes(GUEST_MARKER), {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: `${id} booted`,
      });
    }
    for (const id of ids) {
      const pid = Number((await readFile(vmPaths(agentDir, id).pidfile, 'utf8')).trim());
      rss.push(await rssKib(pid));
    }
    const memAvail = await memAvailableKib();
    for (const id of ids) await client.deleteVm(id, scope);
    await waitFor(async () => (await client.listVms(scope)).length === 0, {
      timeoutMs: 60_000,
      what: 'cleanup',
    });

    const rssMed = median(rss);
    // QEMU's own footprint: the RSS of a firmware-only QEMU (it has touched almost no guest memory).
    const overheadKib = median(handRss);
    const idleCapacity = Math.floor(memAvail / rssMed);
    const worstCapacity = Math.floor(memAvail / (opts.memoryMib * 1024 + overheadKib));
    const result = {
      accelerator: accel,
      runs: opts.runs,
      create_to_running_ms: { api_median: median(api), hand_median: median(hand), api, hand },
      ratio_api_over_hand: median(api) / median(hand),
      vms_per_host: {
        memory_mib: opts.memoryMib,
        sampled_vms: opts.vms,
        rss_kib: rss,
        rss_median_mib: rssMed / 1024,
        qemu_overhead_mib: overheadKib / 1024,
        mem_available_mib: memAvail / 1024,
        mem_available_before_mib: memBefore / 1024,
        idle_guests: idleCapacity,
        worst_case_all_memory_touched: worstCapacity,
      },
    };
    const rows = [
      [
        'create→Running (median)',
        `${median(api).toFixed(0)} ms (API)`,
        `${median(hand).toFixed(0)} ms (qemu by hand)`,
        `ratio ${result.ratio_api_over_hand.toFixed(2)}`,
      ],
      [
        'QEMU RSS per booted guest (median)',
        `${(rssMed / 1024).toFixed(1)} MiB`,
        `${opts.memoryMib} MiB configured`,
        '',
      ],
      [
        'VMs per host (idle guests)',
        String(idleCapacity),
        `MemAvailable ${(memAvail / 1024).toFixed(0)} MiB`,
        '',
      ],
      [
        'VMs per host (all memory touched)',
        String(worstCapacity),
        `${opts.memoryMib} MiB + ${(overheadKib / 1024).toFixed(1)} MiB QEMU`,
        '',
      ],
    ];
    process.stdout.write(`${rows.map((r) => r.join(' | ')).join('\n')}\n`);
    const outDir = join(REPO_ROOT, 'bench', 'results');
    await mkdir(outDir, { recursive: true });
    const file = join(outDir, `vm-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify({ options: opts, loadavg: loadavg(), result }, null, 2));
    log(`results written to ${file}`);
    return 0;
  } finally {
    await agent.close();
    for (const pid of handPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already quit
      }
    }
    await server.close();
    await store.close();
    await rm(dir.path, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench:vm failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
