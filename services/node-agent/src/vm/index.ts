/**
 * The node agent's VM component: the QEMU driver. It watches PlasmaVMC's VM specs in ChainFire (desired
 * state), converges this machine towards them — one daemonized `qemu-system-x86_64` per running VM,
 * controlled over QMP on a unix socket — and writes each VM's observed status back for the API to read.
 *
 * - Start: qcow2 disk (overlay on the image, or blank), QEMU with KVM when usable else TCG, pidfile + QMP.
 * - Stop: ACPI power-down (QMP system_powerdown), then QMP quit after the timeout, then SIGKILL; `force`
 *   skips the ACPI step. Reboot: QMP system_reset. Delete: stop at once, remove the runtime directory.
 * - Crash detection: every VM believed running is checked each second; a guest power-off (QMP status
 *   "shutdown", thanks to -no-shutdown) is recorded as Stopped, a vanished process as Error.
 * - Restart: on start the component lists every spec and finds running QEMUs again by pidfile (checked
 *   against /proc/<pid>/cmdline), so nothing is started twice and nothing is orphaned; a VM that should run
 *   but whose process is gone (host reboot, crash while the agent was down) is started again.
 *
 * Single-node for now: every VM spec is served by the agent that sees it.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { VM_KEYS } from '@photoncloud/plasmavmc-api';
import type { StopMethod, VmSpecRecord, VmStatusRecord } from '@photoncloud/plasmavmc-api';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { Store, Watcher } from '@photoncloud/store';
import type { AgentComponent, AgentComponentOptions } from '../component.js';
import { qmpCommand } from './qmp.js';
import {
  acceleratorFor,
  kvmUsable,
  launchQemu,
  livePid,
  pidAlive,
  prepareDisk,
  qemuArgs,
  vmPaths,
} from './qemu.js';
import type { VmPaths } from './qemu.js';

/** How often VMs believed running are checked. */
const MONITOR_INTERVAL_MS = 1000;
/** How long QMP quit may take before SIGKILL. */
const QUIT_GRACE_MS = 5000;

function rfc3339(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Versioned<T> {
  value: T;
  modRevision: number;
}

class VmStore {
  constructor(private readonly store: Store) {}

  async spec(id: string): Promise<Versioned<VmSpecRecord> | undefined> {
    const kv = (await this.store.range({ key: bytes(VM_KEYS.vm(id)) })).kvs[0];
    return kv === undefined
      ? undefined
      : { value: JSON.parse(text(kv.value)) as VmSpecRecord, modRevision: kv.modRevision };
  }

  async status(id: string): Promise<VmStatusRecord | undefined> {
    const kv = (await this.store.range({ key: bytes(VM_KEYS.status(id)) })).kvs[0];
    return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as VmStatusRecord);
  }

  async putStatus(id: string, status: VmStatusRecord): Promise<void> {
    await this.store.put({ key: bytes(VM_KEYS.status(id)), value: bytes(JSON.stringify(status)) });
  }

  /** Remove a deleted VM's records, unless its spec changed since it was read. */
  async finishDelete(id: string, modRevision: number): Promise<boolean> {
    const key = bytes(VM_KEYS.vm(id));
    const res = await this.store.txn({
      compare: [{ key, target: 'mod', modRevision, result: 'equal' }],
      success: [{ deleteRange: { key } }, { deleteRange: { key: bytes(VM_KEYS.status(id)) } }],
      failure: [],
    });
    return res.succeeded;
  }

  async deleteStatus(id: string): Promise<void> {
    await this.store.deleteRange({ key: bytes(VM_KEYS.status(id)) });
  }

  /** Every VM ID with a spec or a status, and the revision of the read. */
  async ids(): Promise<{ ids: Set<string>; revision: number }> {
    const ids = new Set<string>();
    let revision = 0;
    for (const prefix of [VM_KEYS.vms, VM_KEYS.statuses]) {
      const key = bytes(prefix);
      const res = await this.store.range({ key, rangeEnd: prefixEnd(key), keysOnly: true });
      revision = Math.max(revision, res.header.revision);
      for (const kv of res.kvs) ids.add(text(kv.key).slice(prefix.length));
    }
    return { ids, revision };
  }
}

/** Start the VM component of the node agent. */
export async function startVmAgent(opts: AgentComponentOptions): Promise<AgentComponent> {
  const { logger, nodeName } = opts;
  const log = logger;
  const db = new VmStore(opts.store);
  const kvm = await kvmUsable();
  await mkdir(opts.dataDir, { recursive: true });
  log.info({ kvm, dataDir: opts.dataDir }, kvm ? 'KVM is usable' : 'KVM is not usable: VMs run under TCG');

  let closing = false;
  const workers = new Map<string, { dirty: boolean; done: Promise<void> }>();
  /** VMs that just started or were adopted in this agent's lifetime (the restart pass is over for them). */
  const startupPending = new Set<string>();

  const schedule = (id: string): void => {
    if (closing) return;
    const w = workers.get(id);
    if (w !== undefined) {
      w.dirty = true;
      return;
    }
    const entry = { dirty: true, done: Promise.resolve() };
    workers.set(id, entry);
    entry.done = (async () => {
      try {
        while (entry.dirty && !closing) {
          entry.dirty = false;
          try {
            await reconcile(id);
          } catch (err) {
            log.error({ err, vm: id }, 'reconcile failed');
            await sleep(500);
          }
        }
      } finally {
        workers.delete(id);
      }
    })();
  };

  const status = (
    spec: VmSpecRecord,
    patch: Partial<VmStatusRecord> & Pick<VmStatusRecord, 'phase'>,
    paths: VmPaths,
    prev: VmStatusRecord | undefined,
  ): VmStatusRecord => ({
    generation: spec.generation,
    reboot_seq: spec.reboot_seq,
    node: nodeName,
    pid: null,
    accelerator: null,
    serial_socket: paths.serial,
    serial_log: paths.serialLog,
    qmp_socket: paths.qmp,
    stop_method: null,
    message: null,
    started_at: prev?.started_at ?? null,
    updated_at: rfc3339(),
    ...patch,
  });

  /** Whether the spec has moved on (a newer intent overtakes a wait in progress). */
  const superseded = async (id: string, generation: number): Promise<boolean> => {
    const now = await db.spec(id);
    return closing || now === undefined || now.value.generation !== generation;
  };

  /** Quit QEMU (then SIGKILL); resolves with how it ended. */
  const forceStop = async (paths: VmPaths, pid: number): Promise<StopMethod> => {
    try {
      await qmpCommand(paths.qmp, 'quit', undefined, 2000);
    } catch {
      // Fall through to the kill below.
    }
    for (const until = Date.now() + QUIT_GRACE_MS; Date.now() < until;) {
      if (!(await pidAlive(pid))) return 'quit';
      await sleep(100);
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    for (let i = 0; i < 50 && (await pidAlive(pid)); i++) await sleep(100);
    return 'kill';
  };

  /** ACPI power-down; quit once the guest has powered off, or when the timeout passes. */
  const gracefulStop = async (spec: VmSpecRecord, paths: VmPaths, pid: number): Promise<StopMethod> => {
    try {
      await qmpCommand(paths.qmp, 'system_powerdown', undefined, 2000);
    } catch (err) {
      log.warn({ err, vm: spec.id }, 'system_powerdown failed; forcing');
      return forceStop(paths, pid);
    }
    const until = Date.now() + spec.stop_timeout_seconds * 1000;
    while (Date.now() < until) {
      if (!(await pidAlive(pid))) return 'acpi';
      try {
        const st = (await qmpCommand(paths.qmp, 'query-status', undefined, 2000)) as { status?: string };
        if (st.status === 'shutdown') {
          await forceStop(paths, pid);
          return 'acpi';
        }
      } catch {
        // QEMU may be exiting; the liveness check above decides.
      }
      if (closing) throw new Error('agent closing: the stop resumes on the next start');
      if (await superseded(spec.id, spec.generation)) break;
      await sleep(250);
    }
    log.info({ vm: spec.id }, 'guest did not power off in time; quitting QEMU');
    return forceStop(paths, pid);
  };

  const start = async (
    spec: VmSpecRecord,
    paths: VmPaths,
    prev: VmStatusRecord | undefined,
  ): Promise<void> => {
    const accel = acceleratorFor(spec, kvm);
    try {
      await mkdir(paths.dir, { recursive: true });
      await rm(paths.qmp, { force: true });
      await rm(paths.serial, { force: true });
      await rm(paths.pidfile, { force: true });
      await prepareDisk(spec, paths);
      const pid = await launchQemu(qemuArgs(spec, paths, accel), paths);
      log.info({ vm: spec.id, pid, accel }, 'VM started');
      await db.putStatus(
        spec.id,
        status(spec, { phase: 'Running', pid, accelerator: accel, started_at: rfc3339() }, paths, prev),
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.error({ vm: spec.id, err: message }, 'VM failed to start');
      await db.putStatus(spec.id, status(spec, { phase: 'Error', message }, paths, prev));
    }
  };

  const reconcile = async (id: string): Promise<void> => {
    const paths = vmPaths(opts.dataDir, id);
    const current = await db.spec(id);
    const prev = await db.status(id);
    const pid = await livePid(paths);
    const restartPass = startupPending.delete(id);

    if (current === undefined) {
      // No spec: whatever is left here is an orphan.
      if (pid !== null) await forceStop(paths, pid);
      await rm(paths.dir, { recursive: true, force: true });
      if (prev !== undefined) await db.deleteStatus(id);
      return;
    }
    const spec = current.value;

    if (spec.desired === 'Deleted') {
      if (pid !== null) await forceStop(paths, pid);
      await rm(paths.dir, { recursive: true, force: true });
      if (!(await db.finishDelete(id, current.modRevision))) schedule(id);
      else log.info({ vm: id }, 'VM deleted');
      return;
    }

    const settled = prev !== undefined && prev.generation >= spec.generation;

    if (spec.desired === 'Stopped') {
      let method: StopMethod | null = prev?.stop_method ?? null;
      if (pid !== null) {
        method = spec.force_stop ? await forceStop(paths, pid) : await gracefulStop(spec, paths, pid);
        log.info({ vm: id, method }, 'VM stopped');
        if (await superseded(id, spec.generation)) {
          schedule(id);
          if (closing) return;
        }
      }
      if (!settled || prev.phase !== 'Stopped' || pid !== null) {
        await db.putStatus(id, status(spec, { phase: 'Stopped', stop_method: method }, paths, prev));
      }
      return;
    }

    // desired Running
    if (pid === null) {
      if (settled && prev.phase !== 'Running') return; // Error or guest power-off: wait for a new start.
      if (settled && prev.phase === 'Running' && !restartPass) {
        // It was running and vanished under us: a crash.
        log.warn({ vm: id, pid: prev.pid }, 'QEMU exited unexpectedly');
        await db.putStatus(
          id,
          status(
            spec,
            {
              phase: 'Error',
              stop_method: 'crash',
              message: `QEMU process ${prev.pid ?? '?'} exited unexpectedly`,
            },
            paths,
            prev,
          ),
        );
        return;
      }
      await start(spec, paths, prev);
      return;
    }

    // QEMU runs.
    if (!settled || prev.phase !== 'Running' || prev.pid !== pid) {
      if (prev !== undefined && prev.phase === 'Running' && spec.reboot_seq > prev.reboot_seq) {
        await qmpCommand(paths.qmp, 'system_reset');
        log.info({ vm: id }, 'VM reset');
      } else if (restartPass) {
        log.info({ vm: id, pid }, 'found running VM again');
      }
      await db.putStatus(
        id,
        status(
          spec,
          { phase: 'Running', pid, accelerator: prev?.accelerator ?? acceleratorFor(spec, kvm) },
          paths,
          prev,
        ),
      );
      return;
    }
    // Settled and running: did the guest power itself off?
    try {
      const st = (await qmpCommand(paths.qmp, 'query-status', undefined, 2000)) as { status?: string };
      if (st.status === 'shutdown') {
        await forceStop(paths, pid);
        await db.putStatus(
          id,
          status(
            spec,
            { phase: 'Stopped', stop_method: 'guest', message: 'the guest powered off' },
            paths,
            prev,
          ),
        );
      } else if (st.status === 'guest-panicked' || st.status === 'internal-error') {
        await db.putStatus(
          id,
          status(spec, { phase: 'Error', pid, message: `QEMU reports ${st.status}` }, paths, prev),
        );
      }
    } catch {
      // Busy or exiting: the next check decides.
    }
  };

  // Watch first (from the revision of the initial listing), so no change between the two is missed.
  let watcher: Watcher | undefined;
  const resync = async (): Promise<void> => {
    const { ids, revision } = await db.ids();
    await watcher?.cancel();
    const key = bytes(VM_KEYS.vms);
    watcher = await opts.store.watch(
      { key, rangeEnd: prefixEnd(key), startRevision: revision + 1 },
      (res) => {
        if (res.canceled === true) {
          if (!closing) void resync().catch((err: unknown) => log.error({ err }, 'VM watch resync failed'));
          return;
        }
        for (const ev of res.events) schedule(text(ev.kv.key).slice(VM_KEYS.vms.length));
      },
    );
    for (const id of ids) schedule(id);
  };
  {
    const { ids } = await db.ids();
    for (const id of ids) startupPending.add(id);
  }
  await resync();
  // Runtime directories without any record (e.g. the records were removed while the agent was down) are
  // orphans: their QEMU is stopped and the directory removed.
  for (const entry of await readdir(opts.dataDir, { withFileTypes: true })) {
    if (entry.isDirectory() && /^vm-[A-Za-z0-9._-]+$/.test(entry.name)) schedule(entry.name);
  }

  // Crash detection: look at every VM this node runs, every second.
  const monitor = setInterval(() => {
    void (async () => {
      const key = bytes(VM_KEYS.statuses);
      const res = await opts.store.range({ key, rangeEnd: prefixEnd(key) });
      for (const kv of res.kvs) {
        const st = JSON.parse(text(kv.value)) as VmStatusRecord;
        if (st.phase === 'Running' && st.node === nodeName)
          schedule(text(kv.key).slice(VM_KEYS.statuses.length));
      }
    })().catch((err: unknown) => log.warn({ err }, 'VM monitor pass failed'));
  }, MONITOR_INTERVAL_MS);
  monitor.unref();

  return {
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(monitor);
      await watcher?.cancel();
      await Promise.all([...workers.values()].map((w) => w.done));
    },
  };
}
