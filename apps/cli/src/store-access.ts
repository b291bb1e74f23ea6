/**
 * How a service reaches the store (ChainFire's etcd API) beyond its endpoints:
 * - its credential, the cluster secret, from `$PHOTONCLOUD_CLUSTER_SECRET` or from the ChainFire member
 *   that keeps its data under the same platform data directory (`<data dir>/chainfire/cluster-secret`,
 *   written when it starts); without one, only auth mode local's loopback rule lets a service in;
 * - TLS, when `$PHOTONCLOUD_CHAINFIRE_TLS_CA` names the CA of ChainFire's certificates.
 */
import { readFileSync } from 'node:fs';
import { ENV, dataDirLayout, readEnv } from '@photoncloud/config';
import type { EtcdStoreOptions } from '@photoncloud/store';
import { CliError } from './cli-error.js';
// The file's format belongs to ChainFire (the CLI may import services' sources).
import { readClusterSecret } from '../../../services/chainfire/src/cluster/cluster-secret.js';

/** The credential and TLS settings for services of the platform data directory `dataDir`. */
export function storeAccess(
  dataDir: string,
  env: NodeJS.ProcessEnv,
): Pick<EtcdStoreOptions, 'token' | 'tls'> {
  const token =
    readEnv(ENV.clusterSecret, env) ?? readClusterSecret(dataDirLayout(dataDir).serviceDir('chainfire'));
  const caFile = readEnv('PHOTONCLOUD_CHAINFIRE_TLS_CA', env);
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (e) {
      throw new CliError(`cannot read PHOTONCLOUD_CHAINFIRE_TLS_CA (${caFile}): ${(e as Error).message}`);
    }
  }
  return { ...(token === undefined ? {} : { token }), ...(ca === undefined ? {} : { tls: { ca } }) };
}
