/** @photoncloud/plasmavmc: the PlasmaVMC service (VMs on QEMU, images, serial consoles). */
export * from './server.js';
export { registerVmRoutes, registerImageRoutes, registerConsole } from './routes/index.js';
export { VmRepo } from './storage/vm-repo.js';
export { visibleState, applyAction } from './core/vm-state.js';
