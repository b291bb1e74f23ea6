/**
 * The VM state machine, kept apart from the action in flight. The API records intent (desired power,
 * a generation counter, a reboot counter); the node agent records what it saw and which generation it has
 * acted on. The state a user sees is derived from both, and every action is checked against it here.
 * Pure: no clock, no I/O (times come in as arguments).
 */
import type { VmSpecRecord, VmState, VmStatusRecord } from '@photoncloud/plasmavmc-api';

/** The state a user sees, derived from the desired and observed records. */
export function visibleState(spec: VmSpecRecord, status: VmStatusRecord | undefined): VmState {
  if (spec.desired === 'Deleted') return 'Deleting';
  if (status === undefined) return spec.desired === 'Running' ? 'Creating' : 'Stopping';
  if (status.generation < spec.generation) {
    // The agent has not acted on the latest intent yet.
    if (spec.desired === 'Stopped') return status.phase === 'Running' ? 'Stopping' : 'Stopped';
    if (status.phase === 'Running') return spec.reboot_seq > status.reboot_seq ? 'Rebooting' : 'Running';
    return 'Starting';
  }
  return status.phase;
}

/** An action a user can ask for. */
export type VmAction =
  | { kind: 'start' }
  | { kind: 'stop'; force: boolean; timeoutSeconds: number }
  | { kind: 'reboot' }
  | { kind: 'delete' };

/** The outcome of an action: the new desired record, unchanged (already so), or refused. */
export type ActionResult = { ok: true; spec: VmSpecRecord; changed: boolean } | { ok: false; reason: string };

const STARTABLE: ReadonlySet<VmState> = new Set(['Stopped', 'Error']);
const ALREADY_RUNNING: ReadonlySet<VmState> = new Set(['Creating', 'Starting', 'Running']);
const STOPPABLE: ReadonlySet<VmState> = new Set(['Creating', 'Starting', 'Running', 'Rebooting', 'Error']);

function bump(spec: VmSpecRecord, now: string, patch: Partial<VmSpecRecord>): VmSpecRecord {
  return { ...spec, ...patch, generation: spec.generation + 1, updated_at: now };
}

/**
 * Apply `action` to a VM in `state`. Repeating what is already under way is accepted without change
 * (start on a VM that is starting, stop on one that is stopping); anything else the state does not allow is
 * refused (the API answers 409 CONFLICT with the reason).
 */
export function applyAction(spec: VmSpecRecord, state: VmState, action: VmAction, now: string): ActionResult {
  switch (action.kind) {
    case 'start':
      if (STARTABLE.has(state))
        return { ok: true, changed: true, spec: bump(spec, now, { desired: 'Running' }) };
      if (ALREADY_RUNNING.has(state)) return { ok: true, changed: false, spec };
      return { ok: false, reason: `cannot start a VM that is ${state}` };
    case 'stop': {
      const patch = {
        desired: 'Stopped' as const,
        force_stop: action.force,
        stop_timeout_seconds: action.timeoutSeconds,
      };
      if (STOPPABLE.has(state)) return { ok: true, changed: true, spec: bump(spec, now, patch) };
      if (state === 'Stopping') {
        // A forced stop overtakes a graceful one in flight; a second graceful stop changes nothing.
        if (action.force && !spec.force_stop)
          return { ok: true, changed: true, spec: bump(spec, now, patch) };
        return { ok: true, changed: false, spec };
      }
      if (state === 'Stopped') return { ok: true, changed: false, spec };
      return { ok: false, reason: `cannot stop a VM that is ${state}` };
    }
    case 'reboot':
      if (state === 'Running')
        return { ok: true, changed: true, spec: bump(spec, now, { reboot_seq: spec.reboot_seq + 1 }) };
      return { ok: false, reason: `cannot reboot a VM that is ${state}; only a Running VM reboots` };
    case 'delete':
      if (state === 'Deleting') return { ok: false, reason: 'the VM is already being deleted' };
      return { ok: true, changed: true, spec: bump(spec, now, { desired: 'Deleted' }) };
  }
}

/** Whether the serial console can be opened in `state`. */
export function consoleAvailable(state: VmState): boolean {
  return state === 'Running' || state === 'Rebooting';
}

/**
 * Credits a VM costs per hour: 10 per vCPU plus 5 per started GiB of memory. Billing reserves one hour at
 * creation; at deletion the hours used (rounded up, at least one) are charged: up to the reservation by
 * committing it, the rest as a direct charge.
 */
export function hourlyRate(vcpus: number, memoryMib: number): number {
  return vcpus * 10 + Math.ceil(memoryMib / 1024) * 5;
}

/** How the usage of `elapsedMs` at `rate` credits/hour is billed against a reservation of `reserved`. */
export function usageCharge(
  rate: number,
  elapsedMs: number,
  reserved: number,
): { commit: number; overage: number } {
  const total = Math.max(1, Math.ceil(elapsedMs / 3_600_000)) * rate;
  return { commit: Math.min(reserved, total), overage: Math.max(0, total - reserved) };
}

/** The quota resources one VM consumes. */
export function quotaUsage(vcpus: number, memoryMib: number): Record<string, number> {
  return { vcpus, memory_mib: memoryMib, vms: 1 };
}

/** Format 6 bytes as a locally administered unicast MAC in QEMU's 52:54:00 range. */
export function macFromBytes(bytes: Uint8Array): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return ['52', '54', '00', hex(bytes[0] ?? 0), hex(bytes[1] ?? 0), hex(bytes[2] ?? 0)].join(':');
}
