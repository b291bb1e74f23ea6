/**
 * The pod runtime component of the node agent (seam: ../component.ts). It watches ChainFire for pods
 * bound to this node, and for each one converges the machine: pull/unpack the image, claim a pod IP
 * (`pod-ips/<node>/<ip>`, create-if-absent), build the netns + veth on the bridge, write an OCI bundle
 * over an overlay rootfs, run it on runc under a detached shim; then watches exits, restarts per
 * restartPolicy with backoff, and writes the observed status (phase, pod_ip, restarts, exit code) back.
 * Pods that disappear from the store are stopped and everything of theirs removed (container, bundle,
 * rootfs mount, netns/veth, IP claim, status). Its local bookkeeping lives in `<dataDir>/pods/<uid>/`,
 * so after an agent restart running containers are adopted, not restarted nor orphaned.
 * It also programs the service dataplane (./service-proxy.ts).
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { K8S_KEYS } from '@photoncloud/k8shost-api';
import type { NodeRecord, PodSpec, PodStatus } from '@photoncloud/k8shost-api';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { KeyValue, Store } from '@photoncloud/store';
import type { AgentComponent, AgentComponentOptions } from '../component.js';
import { buildOciSpec, processArgs, processEnv } from '../core/oci-spec.js';
import { podNet, pickPodIp } from '../core/pod-ip.js';
import { parseCpu, parseMemory } from '../core/quantity.js';
import { afterExit, restartBackoffMs } from '../core/restart.js';
import { ImagePullError, ImageStore } from './images.js';
import { enableIpForward, ensureBridge, netnsPath, setupPodNetwork, teardownPodNetwork } from './network.js';
import { mountRootfs, pidAlive, readExit, Runc, unmountRootfs, writeAtomic } from './runtime.js';
import { startServiceProxy } from './service-proxy.js';

/** Node-level settings of the pod runtime (defaults from the environment). */
export interface PodAgentSettings {
  /** Registry for references without a host (env PHOTONCLOUD_K8SHOST_REGISTRY; default 127.0.0.1:5000). */
  registry: string;
  /** The pod bridge (env PHOTONCLOUD_POD_BRIDGE; default pc0). */
  bridge: string;
  /** The nftables table the agent owns (env PHOTONCLOUD_NFT_TABLE; default photoncloud). */
  nftTable: string;
  /** The service CIDR routed onto the bridge (env PHOTONCLOUD_K8SHOST_SERVICE_CIDR; default 10.96.0.0/16). */
  serviceCidr: string;
  /** First restart delay; doubles per restart up to 60 s (default 1000 ms). */
  restartBaseMs: number;
  /** Safety-net reconcile period (default 500 ms); changes in the store trigger a pass at once. */
  pollMs: number;
  /** On delete: SIGTERM, then SIGKILL after this long (default 10 000 ms; Kubernetes' is 30 s). */
  terminationGraceMs: number;
}

/** Settings from the environment, overridden by `overrides`. */
export function podAgentSettings(overrides: Partial<PodAgentSettings> = {}): PodAgentSettings {
  const env = process.env;
  return {
    registry: env['PHOTONCLOUD_K8SHOST_REGISTRY'] ?? '127.0.0.1:5000',
    bridge: env['PHOTONCLOUD_POD_BRIDGE'] ?? 'pc0',
    nftTable: env['PHOTONCLOUD_NFT_TABLE'] ?? 'photoncloud',
    serviceCidr: env['PHOTONCLOUD_K8SHOST_SERVICE_CIDR'] ?? '10.96.0.0/16',
    restartBaseMs: 1000,
    pollMs: 500,
    terminationGraceMs: 10_000,
    ...overrides,
  };
}

/** The agent's local record of one pod (`<dataDir>/pods/<uid>/state.json`). */
interface LocalPod {
  uid: string;
  namespace: string;
  name: string;
  containerId: string;
  ip: string | null;
  phase: PodStatus['phase'];
  containerState: PodStatus['container_state'];
  restartCount: number;
  exitCode: number | null;
  reason: string | null;
  message: string | null;
  shimPid: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Epoch ms before which the container is not (re)started (backoff). */
  notBefore: number;
  attempts: number;
}

/** Directory of a pod's bundle, log and bookkeeping. */
export function podDir(dataDir: string, uid: string): string {
  return join(dataDir, 'pods', uid);
}

/** The pod's log file (stdout and stderr of every run, appended). */
export function podLogFile(dataDir: string, uid: string): string {
  return join(podDir(dataDir, uid), 'container.log');
}

function parseJson<T>(kv: KeyValue): T {
  return JSON.parse(text(kv.value)) as T;
}

/** Start the pod runtime component. */
export async function startPodAgent(
  opts: AgentComponentOptions,
  overrides: Partial<PodAgentSettings> = {},
): Promise<AgentComponent> {
  const settings = podAgentSettings(overrides);
  const { store, nodeName, logger } = opts;
  const dataDir = opts.dataDir;
  await mkdir(join(dataDir, 'pods'), { recursive: true });
  const images = new ImageStore(join(dataDir, 'images'), settings.registry);
  const runc = new Runc(join(dataDir, 'runc'));
  const busy = new Map<string, Promise<void>>();
  let closed = false;
  let netReady: { cidr: string; gateway: string; prefix: number; hosts: string[] } | null = null;

  const nodeRec = await waitNodeRecord(store, nodeName);
  const net = podNet(nodeRec.pod_cidr);
  if (net === null) throw new Error(`node ${nodeName} has a bad pod CIDR ${nodeRec.pod_cidr}`);
  if (await enableIpForward()) logger.info('enabled net.ipv4.ip_forward (was 0) for pod and service traffic');
  await ensureBridge(settings.bridge, net.gateway, net.prefix, settings.serviceCidr);
  netReady = net;

  const proxy = await startServiceProxy({
    store,
    table: settings.nftTable,
    bridge: settings.bridge,
    podCidr: net.cidr,
    logger,
    pollMs: Math.max(settings.pollMs, 1000),
  });

  async function loadLocal(uid: string): Promise<LocalPod | null> {
    const t = await readFile(join(podDir(dataDir, uid), 'state.json'), 'utf8').catch(() => null);
    return t === null ? null : (JSON.parse(t) as LocalPod);
  }

  async function saveLocal(p: LocalPod): Promise<void> {
    await writeAtomic(join(podDir(dataDir, p.uid), 'state.json'), JSON.stringify(p));
  }

  async function writeStatus(p: LocalPod): Promise<void> {
    const st: PodStatus = {
      uid: p.uid,
      phase: p.phase,
      pod_ip: p.ip,
      reason: p.reason,
      message: p.message,
      restart_count: p.restartCount,
      exit_code: p.exitCode,
      container_state: p.containerState,
      started_at: p.startedAt,
      finished_at: p.finishedAt,
    };
    // Only while the pod is still bound here (a deleted pod's status is not resurrected).
    await store.txn({
      compare: [
        {
          key: bytes(K8S_KEYS.binding(p.namespace, p.name)),
          target: 'value',
          result: 'equal',
          value: bytes(nodeName),
        },
      ],
      success: [
        { put: { key: bytes(K8S_KEYS.podStatus(p.namespace, p.name)), value: bytes(JSON.stringify(st)) } },
      ],
      failure: [],
    });
  }

  async function claimIp(uid: string): Promise<string> {
    for (let attempt = 0; attempt < 32; attempt++) {
      const prefix = bytes(K8S_KEYS.podIps(nodeName));
      const res = await store.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
      const used = new Set<string>();
      for (const kv of res.kvs) {
        const ipText = text(kv.key).slice(K8S_KEYS.podIps(nodeName).length);
        if (text(kv.value) === uid) return ipText;
        used.add(ipText);
      }
      const ip = pickPodIp(net as NonNullable<typeof net>, used);
      if (ip === null) throw new Error(`no free pod IP left in ${nodeRec.pod_cidr}`);
      const key = bytes(K8S_KEYS.podIp(nodeName, ip));
      const t = await store.txn({
        compare: [{ key, target: 'create', result: 'equal', createRevision: 0 }],
        success: [{ put: { key, value: bytes(uid) } }],
        failure: [],
      });
      if (t.succeeded) return ip;
    }
    throw new Error('could not claim a pod IP (contention)');
  }

  async function releaseIp(ip: string | null, uid: string): Promise<void> {
    if (ip === null) return;
    const key = bytes(K8S_KEYS.podIp(nodeName, ip));
    await store.txn({
      compare: [{ key, target: 'value', result: 'equal', value: bytes(uid) }],
      success: [{ deleteRange: { key } }],
      failure: [],
    });
  }

  /** Prepare everything and start the container once. */
  async function startContainer(p: LocalPod, spec: PodSpec): Promise<void> {
    const dir = podDir(dataDir, p.uid);
    const image = await images.prepare(spec.image);
    if (p.ip === null) {
      p.ip = await claimIp(p.uid);
      await saveLocal(p);
    }
    const n = netReady as NonNullable<typeof netReady>;
    const pn = await setupPodNetwork(p.uid, settings.bridge, {
      ip: p.ip,
      prefix: n.prefix,
      gateway: n.gateway,
    });
    await mountRootfs(image.rootfs, dir);
    const args = processArgs(spec.command, spec.args, image.config);
    if (args === null) throw new Error('neither the pod nor the image names a command to run');
    const hostname = spec.name;
    const hosts = join(dir, 'hosts');
    await writeFile(hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost\n${p.ip}\t${hostname}\n`);
    const limits = spec.resources.limits;
    const config = buildOciSpec({
      args,
      env: processEnv(image.config, spec.env, hostname),
      cwd:
        spec.working_dir ??
        (image.config.WorkingDir !== undefined && image.config.WorkingDir !== ''
          ? image.config.WorkingDir
          : '/'),
      hostname,
      netnsPath: netnsPath(pn.netns),
      hostsFile: hosts,
      memoryLimit: limits.memory === undefined ? null : parseMemory(limits.memory),
      cpuLimitMilli: limits.cpu === undefined ? null : parseCpu(limits.cpu),
      cpuRequestMilli: parseCpu(spec.resources.requests.cpu ?? '0') ?? 0,
      cgroupsPath: `/photoncloud/${p.containerId}`,
    });
    await writeFile(join(dir, 'bundle', 'config.json'), JSON.stringify(config, null, 2));
    if (runc.known(p.containerId)) await runc.delete(p.containerId);
    p.shimPid = await runc.startShim(
      p.containerId,
      join(dir, 'bundle'),
      podLogFile(dataDir, p.uid),
      join(dir, 'exit'),
      join(dir, 'container.pid'),
    );
    p.containerState = 'waiting';
    p.reason = 'ContainerCreating';
    p.message = null;
    await saveLocal(p);
  }

  /** Remove everything of a pod from this machine and the store. */
  async function teardown(p: LocalPod): Promise<void> {
    const dir = podDir(dataDir, p.uid);
    const alive = () => p.shimPid !== null && pidAlive(p.shimPid);
    if (alive()) {
      await runc.kill(p.containerId, 'TERM');
      const deadline = Date.now() + settings.terminationGraceMs;
      while (alive() && Date.now() < deadline) await sleep(50);
    }
    await runc.kill(p.containerId, 'KILL');
    for (let i = 0; i < 50 && alive(); i++) await sleep(100);
    await runc.delete(p.containerId);
    await unmountRootfs(dir);
    await teardownPodNetwork(p.uid);
    await releaseIp(p.ip, p.uid);
    // Drop the status this pod's uid wrote (a new pod of the same name keeps its own).
    const key = bytes(K8S_KEYS.podStatus(p.namespace, p.name));
    const cur = await store.range({ key });
    const kv = cur.kvs[0];
    if (kv !== undefined && parseJson<PodStatus>(kv).uid === p.uid) {
      await store.txn({
        compare: [{ key, target: 'mod', result: 'equal', modRevision: kv.modRevision }],
        success: [{ deleteRange: { key } }],
        failure: [],
      });
    }
    await rm(dir, { recursive: true, force: true });
    logger.info({ pod: `${p.namespace}/${p.name}`, uid: p.uid }, 'pod removed');
  }

  /** One convergence step of a pod that should run here. */
  async function step(p: LocalPod, spec: PodSpec): Promise<void> {
    const before = JSON.stringify(p);
    const dir = podDir(dataDir, p.uid);
    if (p.phase === 'Succeeded' || p.phase === 'Failed') {
      // Terminal: nothing to converge.
    } else if (p.shimPid === null) {
      if (Date.now() >= p.notBefore) {
        try {
          await startContainer(p, spec);
          // Observe the start at once rather than on the next pass: report Running (or the exit) promptly.
          const shim = p.shimPid;
          // runc writes the pid file once the container's process runs; the shim writes the exit file.
          for (let i = 0; i < 400 && shim !== null && pidAlive(shim); i++) {
            if (existsSync(join(dir, 'container.pid')) || existsSync(join(dir, 'exit'))) break;
            await sleep(5);
          }
        } catch (err) {
          const pull = err instanceof ImagePullError;
          p.attempts += 1;
          p.reason = pull ? (p.attempts > 1 ? 'ImagePullBackOff' : 'ErrImagePull') : 'CreateContainerError';
          p.message = (err as Error).message;
          p.notBefore = Date.now() + restartBackoffMs(p.attempts - 1, settings.restartBaseMs);
          p.shimPid = null;
          logger.warn({ pod: `${p.namespace}/${p.name}`, err }, 'pod start failed');
        }
      }
    }
    if (p.shimPid !== null && p.phase !== 'Succeeded' && p.phase !== 'Failed') {
      const code = await readExit(join(dir, 'exit'));
      const st =
        code !== null
          ? { status: 'stopped' as const, pid: 0 }
          : p.containerState !== 'running' && existsSync(join(dir, 'container.pid'))
            ? { status: 'running' as const, pid: 0 }
            : await runc.state(p.containerId);
      let exited: number | null = code;
      if (code === null && st.status === 'running') {
        if (p.containerState !== 'running') {
          p.containerState = 'running';
          p.phase = 'Running';
          p.reason = null;
          p.message = null;
          p.startedAt = new Date().toISOString();
          p.attempts = 0;
        }
      } else if (code === null && !pidAlive(p.shimPid)) {
        // The shim vanished without an exit status (machine restarted, killed): the container is lost.
        await sleep(50);
        exited = (await readExit(join(dir, 'exit'))) ?? 255;
        if (exited === 255) p.reason = 'ContainerLost';
      }
      const created = await stat(join(dir, 'container.pid')).then(
        () => true,
        () => false,
      );
      if (exited !== null && !created) {
        // runc failed before the container's process existed: a start failure, not an exit.
        await runc.delete(p.containerId);
        await rm(join(dir, 'exit'), { force: true });
        p.shimPid = null;
        p.attempts += 1;
        p.containerState = 'waiting';
        p.reason = 'RunContainerError';
        p.message = await lastLine(podLogFile(dataDir, p.uid));
        p.notBefore = Date.now() + restartBackoffMs(p.attempts - 1, settings.restartBaseMs);
      } else if (exited !== null) {
        await runc.delete(p.containerId);
        await rm(join(dir, 'exit'), { force: true });
        p.shimPid = null;
        p.exitCode = exited;
        p.finishedAt = new Date().toISOString();
        const d = afterExit(spec.restart_policy, exited);
        if (d.action === 'restart') {
          p.notBefore = Date.now() + restartBackoffMs(p.restartCount, settings.restartBaseMs);
          p.restartCount += 1;
          p.containerState = 'waiting';
          p.phase = 'Running';
          p.reason = 'CrashLoopBackOff';
          p.message = `exited with ${exited}; restarting`;
        } else {
          p.phase = d.phase;
          p.containerState = 'terminated';
          p.reason = d.phase === 'Succeeded' ? 'Completed' : 'Error';
          p.message = `exited with ${exited}`;
        }
      }
    }
    if (JSON.stringify(p) !== before) {
      await saveLocal(p);
      await writeStatus(p);
    }
  }

  async function pass(): Promise<void> {
    if (closed) return;
    const bPrefix = bytes(K8S_KEYS.bindings);
    const [bindings, pods] = await Promise.all([
      store.range({ key: bPrefix, rangeEnd: prefixEnd(bPrefix) }),
      store.range({ key: bytes(K8S_KEYS.pods), rangeEnd: prefixEnd(bytes(K8S_KEYS.pods)) }),
    ]);
    const mine = new Set(
      bindings.kvs
        .filter((kv) => text(kv.value) === nodeName)
        .map((kv) => text(kv.key).slice(K8S_KEYS.bindings.length)),
    );
    const desired = new Map<string, PodSpec>();
    for (const kv of pods.kvs) {
      const spec = parseJson<PodSpec>(kv);
      if (mine.has(`${spec.namespace}/${spec.name}`)) desired.set(spec.uid, spec);
    }
    const localUids = await readdir(join(dataDir, 'pods')).catch(() => [] as string[]);
    for (const uid of localUids) {
      if (busy.has(uid) || desired.has(uid)) continue;
      const local = await loadLocal(uid);
      if (local === null) {
        await rm(podDir(dataDir, uid), { recursive: true, force: true });
        continue;
      }
      run(uid, () => teardown(local));
    }
    for (const [uid, spec] of desired) {
      if (busy.has(uid)) continue;
      run(uid, async () => {
        let p = await loadLocal(uid);
        if (p === null) {
          await mkdir(join(podDir(dataDir, uid), 'bundle'), { recursive: true });
          p = {
            uid,
            namespace: spec.namespace,
            name: spec.name,
            containerId: `pc-${uid}`,
            ip: null,
            phase: 'Pending',
            containerState: 'waiting',
            restartCount: 0,
            exitCode: null,
            reason: 'ContainerCreating',
            message: null,
            shimPid: null,
            startedAt: null,
            finishedAt: null,
            notBefore: 0,
            attempts: 0,
          };
          await saveLocal(p);
          await writeStatus(p);
        }
        await step(p, spec);
      });
    }
  }

  function run(uid: string, fn: () => Promise<void>): void {
    const pr = fn()
      .catch((err: unknown) => {
        if (!closed) logger.warn({ err, uid }, 'pod step failed');
      })
      .finally(() => {
        busy.delete(uid);
      });
    busy.set(uid, pr);
  }

  let passing = false;
  let again = false;
  async function loop(): Promise<void> {
    if (passing) {
      again = true;
      return;
    }
    passing = true;
    try {
      do {
        again = false;
        await pass().catch((err: unknown) => {
          if (!closed) logger.warn({ err }, 'pod reconcile failed');
        });
      } while (again && !closed);
    } finally {
      passing = false;
    }
  }

  // Containers under our runc root with no bookkeeping (the agent died between starting one and
  // recording it, or its directory was removed) are stopped, so nothing is orphaned.
  for (const id of await runc.list()) {
    if (id.startsWith('pc-') && !existsSync(join(podDir(dataDir, id.slice(3)), 'state.json'))) {
      logger.warn({ container: id }, 'removing an unrecorded container');
      await runc.delete(id);
    }
  }

  const prefix = bytes(K8S_KEYS.pods.slice(0, -'pods/'.length));
  const watcher = await store.watch({ key: prefix, rangeEnd: prefixEnd(prefix) }, (res) => {
    // Our own status writes need no pass; spec and binding changes do.
    if (res.events.some((e) => !text(e.kv.key).startsWith(K8S_KEYS.podStatuses))) void loop();
  });
  const timer = setInterval(() => void loop(), settings.pollMs);
  void loop();
  logger.info({ node: nodeName, bridge: settings.bridge, pod_cidr: net.cidr }, 'pod runtime started');

  return {
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await watcher.cancel().catch(() => undefined);
      for (let i = 0; i < 200 && (passing || busy.size > 0); i++) await sleep(25);
      await Promise.allSettled([...busy.values()]);
      await proxy.close();
    },
  };
}

async function lastLine(file: string): Promise<string> {
  const t = await readFile(file, 'utf8').catch(() => '');
  const lines = t.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitNodeRecord(store: Store, nodeName: string): Promise<NodeRecord> {
  for (let i = 0; i < 100; i++) {
    const r = await store.range({ key: bytes(K8S_KEYS.node(nodeName)) });
    const kv = r.kvs[0];
    if (kv !== undefined) return parseJson<NodeRecord>(kv);
    await sleep(100);
  }
  throw new Error(`node ${nodeName} is not registered; the pod runtime needs its pod CIDR`);
}

export { ImageStore, ImagePullError } from './images.js';
export { removeBridge } from './network.js';
