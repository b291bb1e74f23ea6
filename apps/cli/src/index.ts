/** @photoncloud/cli: the `photoncloud` command, its service registry, supervisor and host checks. */
export { main, globalHelp, COMMANDS } from './main.js';
export { SERVICES, findService, serviceNames } from './services.js';
export type {
  ServiceDefinition,
  ListenerSpec,
  ServeContext,
  RunningService,
  BoundListener,
} from './services.js';
export { Supervisor, backoffDelay } from './supervisor.js';
export type { SupervisorOptions, SupervisorEvent, BackoffOptions } from './supervisor.js';
export { planPorts, plannedListeners, probePort } from './port-plan.js';
export type { PortPlan, PlannedListener, PortProbe } from './port-plan.js';
export { readRunState, writeRunState, removeRunState, isPhotonCloudProcess } from './run-state.js';
export type { RunState, RunService, RunListener } from './run-state.js';
export {
  runDoctorChecks,
  checkNode,
  checkKvm,
  checkProgram,
  checkDataDir,
  compareVersions,
  PROGRAMS,
} from './doctor-checks.js';
export type { DoctorCheck, CheckStatus } from './doctor-checks.js';
export { collectStatus } from './commands/status.js';
export type { StatusReport, ServiceStatus } from './commands/status.js';
export { CliError, UsageError } from './cli-error.js';
export type { Io } from './io.js';
