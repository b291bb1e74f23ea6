/**
 * What PlasmaVMC keeps in ChainFire, shared by the API (which writes the desired state) and the node
 * agent's VM component (which converges QEMU towards it and writes the observed state). Both sides read
 * these keys, so their shape is part of the contract between the two processes.
 */
import type { ImageFormat } from './schemas.js';

/** Root of every PlasmaVMC key. */
export const PLASMAVMC_PREFIX = '/photoncloud/plasmavmc/';

/** Store keys and prefixes. IDs never contain `/`. */
export const VM_KEYS = {
  vms: `${PLASMAVMC_PREFIX}vms/`,
  vm: (id: string) => `${PLASMAVMC_PREFIX}vms/${id}`,
  statuses: `${PLASMAVMC_PREFIX}status/`,
  status: (id: string) => `${PLASMAVMC_PREFIX}status/${id}`,
  images: `${PLASMAVMC_PREFIX}images/`,
  image: (id: string) => `${PLASMAVMC_PREFIX}images/${id}`,
  /** The HMAC secret of console tokens (created once per install). */
  consoleSecret: `${PLASMAVMC_PREFIX}console-secret`,
} as const;

/** What the VM should be: running, stopped, or gone. */
export type DesiredPower = 'Running' | 'Stopped' | 'Deleted';

/** How a VM boots: from a disk image, directly from a kernel, or from nothing (firmware only). */
export interface BootSpec {
  /** Absolute path of the base disk the VM's overlay is backed by. */
  disk_path: string | null;
  disk_format: 'qcow2' | 'raw' | null;
  kernel_path: string | null;
  initrd_path: string | null;
  cmdline: string | null;
}

/** The desired state of one VM (`VM_KEYS.vm(id)`), written by the API only. */
export interface VmSpecRecord {
  id: string;
  name: string;
  org_id: string;
  project_id: string;
  vcpus: number;
  memory_mib: number;
  hypervisor: 'kvm' | 'qemu';
  image_id: string | null;
  disk_size_gb: number | null;
  boot: BootSpec;
  subnet_id: string | null;
  port_id: string | null;
  ip_address: string | null;
  mac_address: string;
  desired: DesiredPower;
  /** Bumped on every change of intent; the agent reports the generation it has acted on. */
  generation: number;
  /** Bumped by each reboot request. */
  reboot_seq: number;
  /** Stop by killing rather than by ACPI power-down. */
  force_stop: boolean;
  /** ACPI grace period of a graceful stop, seconds. */
  stop_timeout_seconds: number;
  /** CreditService seam: the reservation held for the VM, if its project has a wallet. */
  reservation_id: string | null;
  /** CreditService seam: whether vcpus/memory_mib/vms were consumed from the project's quota. */
  quota_consumed: boolean;
  created_at: string;
  updated_at: string;
}

/** Observed power state, as the agent last saw it. */
export type ObservedPhase = 'Running' | 'Stopped' | 'Error';

/** How a VM was last stopped. */
export type StopMethod = 'acpi' | 'quit' | 'kill' | 'guest' | 'crash';

/** The observed state of one VM (`VM_KEYS.status(id)`), written by the agent only. */
export interface VmStatusRecord {
  phase: ObservedPhase;
  /** The spec generation this status answers. */
  generation: number;
  /** The last reboot request carried out. */
  reboot_seq: number;
  node: string;
  pid: number | null;
  accelerator: 'kvm' | 'tcg' | null;
  /** Unix socket of the serial console (QEMU chardev, server mode). */
  serial_socket: string | null;
  /** Everything the serial console printed (QEMU chardev logfile). */
  serial_log: string | null;
  qmp_socket: string | null;
  stop_method: StopMethod | null;
  message: string | null;
  started_at: string | null;
  updated_at: string;
}

/** An image (`VM_KEYS.image(id)`); its files live under the API's data dir. */
export interface ImageRecord {
  id: string;
  name: string;
  org_id: string;
  project_id: string;
  format: ImageFormat;
  status: 'pending' | 'available';
  cmdline: string | null;
  /** Absolute paths of uploaded parts, by part name. */
  paths: { disk?: string; kernel?: string; initrd?: string };
  size_bytes: number;
  virtual_size_bytes: number | null;
  created_at: string;
}
