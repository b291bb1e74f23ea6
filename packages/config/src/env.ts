/** Environment variables PhotonCloud reads. One table, so docs and code cannot drift apart. */
export const ENV = {
  /** Platform data directory (default `./.data` under the working directory). */
  dataDir: 'PHOTONCLOUD_DATA_DIR',
  /** Address services listen on (default 127.0.0.1). */
  host: 'PHOTONCLOUD_HOST',
  /** Port overrides, `service.listener=port,…` (e.g. `chainfire.http=18081,chainfire.grpc=15051`). */
  ports: 'PHOTONCLOUD_PORTS',
  /** Added to every default port (e.g. 1000 → ChainFire on 9081 and 51051). */
  portOffset: 'PHOTONCLOUD_PORT_OFFSET',
  /** Log level of every service (fatal, error, warn, info, debug, trace, silent). */
  logLevel: 'PHOTONCLOUD_LOG_LEVEL',
  /** IAM's JWKS URL, used to verify bearer tokens (auth mode `required`). */
  jwksUrl: 'PHOTONCLOUD_JWKS_URL',
  /** ChainFire etcd v3 gRPC endpoints (`host:port,…`) a service keeps its state in (default: ChainFire on this machine). */
  storeEndpoints: 'PHOTONCLOUD_STORE_ENDPOINTS',
  /**
   * Where the other services' REST APIs are, `name=url,…` (e.g. `prismnet=http://10.0.0.7:8087`); unset
   * services default to this machine under the same port offset/overrides. `up` sets it for its children.
   */
  serviceUrls: 'PHOTONCLOUD_SERVICE_URLS',
  /**
   * ChainFire's cluster secret (`<data dir>/chainfire/cluster-secret` on a member): a joining member
   * needs it; services on another machine present it to the store in auth mode `required`.
   */
  clusterSecret: 'PHOTONCLOUD_CLUSTER_SECRET',
  /** Bearer token the CLI sends to services (needed by `status` in auth mode `required`). */
  token: 'PHOTONCLOUD_TOKEN',
} as const;

/** Read a variable; empty or whitespace-only counts as unset. */
export function readEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}
