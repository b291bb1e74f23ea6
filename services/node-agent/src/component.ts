/**
 * The seam between the node agent's process and the runtimes it hosts (VMs on QEMU, pods on runc).
 * Each runtime is a component: started with the platform Store and a directory of its own, it watches its
 * desired state in ChainFire, converges the machine towards it and writes the observed status back.
 */
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';

/** What the agent hands every runtime component. */
export interface AgentComponentOptions {
  /** The platform Store (ChainFire). */
  store: Store;
  /** The component's own directory under the agent's data dir (e.g. `<data-dir>/node-agent/vm`). */
  dataDir: string;
  /** This machine's node name (stable across restarts; the hostname by default). */
  nodeName: string;
  logger: Logger;
}

/** A running runtime component. */
export interface AgentComponent {
  /** Stop converging; leave running workloads alone (they are found again on the next start). */
  close(): Promise<void>;
}
