/** Helpers for integration tests: free ports, temp dirs, bounded waits, CLIs, a real etcd-server. */
export { freePort } from './free-port.js';
export { tempDir, type TempDir } from './temp-dir.js';
export { waitFor, type WaitForOptions } from './wait-for.js';
export { run, startProcess, type RunOptions, type RunResult, type StartedProcess } from './run.js';
export { startEtcd, type StartEtcdOptions, type EtcdProcess } from './start-etcd.js';
export { terminate } from './terminate.js';
export { callEnvelope, type CallEnvelopeOptions, type EnvelopeResponse } from './call-envelope.js';
export { startLinkProxy, type LinkProxy } from './link-proxy.js';
export { makeTestCertificates, type TestCertificates } from './test-certs.js';
