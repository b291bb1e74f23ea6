/** PlasmaVMC's REST routes. */
export { registerVmRoutes, vmToWire } from './vm-routes.js';
export type { RouteDeps } from './vm-routes.js';
export { registerImageRoutes } from './image-routes.js';
export { registerConsole, signConsoleToken, verifyConsoleToken, CONSOLE_TOKEN_TTL_MS } from './console.js';
