/**
 * The credential a service presents to the store (ChainFire's etcd API): the cluster secret, from
 * `$PHOTONCLOUD_CLUSTER_SECRET` or from the ChainFire member that keeps its data under the same platform
 * data directory (`<data dir>/chainfire/cluster-secret`, written when it starts). Without one, only
 * auth mode local's loopback rule lets a service in.
 */
import { ENV, dataDirLayout, readEnv } from '@photoncloud/config';
// The file's format belongs to ChainFire (the CLI may import services' sources).
import { readClusterSecret } from '../../../services/chainfire/src/cluster/cluster-secret.js';

/** The store credential for services of the platform data directory `dataDir`; undefined when none. */
export function storeCredential(dataDir: string, env: NodeJS.ProcessEnv): string | undefined {
  return readEnv(ENV.clusterSecret, env) ?? readClusterSecret(dataDirLayout(dataDir).serviceDir('chainfire'));
}
