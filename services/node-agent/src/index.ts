/** @photoncloud/node-agent: the per-machine agent (node registration, pods on runc, VMs). */
export type { AgentComponent, AgentComponentOptions } from './component.js';
export * from './server.js';
export { startPodAgent, podAgentSettings, podLogFile } from './pods/index.js';
export type { PodAgentSettings } from './pods/index.js';
export { removeBridge } from './pods/network.js';
export { removeNftTable } from './pods/service-proxy.js';
export { ImageStore, ImagePullError } from './pods/images.js';
