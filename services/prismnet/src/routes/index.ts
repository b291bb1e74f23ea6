/** PrismNET's REST routes. */
import type { ServiceApp } from '@photoncloud/http-kit';
import { registerNetworkRoutes } from './network-routes.js';
import type { RouteDeps } from './network-routes.js';
import { registerSecurityGroupRoutes } from './security-group-routes.js';

export type { RouteDeps } from './network-routes.js';

/** Register every PrismNET route on a service built with `createService`. */
export function registerPrismNetRoutes(app: ServiceApp, deps: RouteDeps): void {
  registerNetworkRoutes(app, deps);
  registerSecurityGroupRoutes(app, deps);
}
