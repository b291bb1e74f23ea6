/**
 * Static bootstrap (etcd's `--initial-cluster`): every member of a new cluster starts with the same list
 * `name=peer-url,…` and the same cluster secret, and from them alone computes the same member IDs, node
 * numbers and cluster ID — so the members can all start at once, with no first member to join.
 *
 * IDs are hashes of the secret and the peer URL (a cluster re-created on the same addresses with another
 * secret gets other IDs, as etcd's `--initial-cluster-token` gives). Node numbers follow the order of the
 * peer URLs.
 */
import { createHash } from 'node:crypto';

/** One entry of the list. */
export interface InitialMember {
  name: string;
  peerUrl: string;
}

/** An entry with the IDs every member computes for it. */
export interface StaticMember extends InitialMember {
  /** etcd member ID, a non-zero uint64 as a decimal string. */
  memberId: string;
  /** Small numeric ID (1, 2, … in peer-URL order). */
  nodeNum: number;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A peer URL's canonical form (`http(s)://host:port`), or undefined when it is not one. */
function canonicalPeerUrl(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.port === '' || u.hostname === '')
    return undefined;
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || u.username !== '') return undefined;
  return `${u.protocol}//${u.host}`;
}

/**
 * Parse `name=http://host:port,…`. Throws a TypeError naming the first problem: a malformed item, a
 * bad name or URL, a name or URL given twice.
 */
export function parseInitialCluster(spec: string): InitialMember[] {
  const out: InitialMember[] = [];
  for (const item of spec.split(',')) {
    const t = item.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    const name = eq < 0 ? '' : t.slice(0, eq);
    const url = eq < 0 ? undefined : canonicalPeerUrl(t.slice(eq + 1));
    if (!NAME_RE.test(name) || url === undefined) {
      throw new TypeError(`initial cluster member "${t}" is not name=http(s)://host:port`);
    }
    if (out.some((m) => m.name === name))
      throw new TypeError(`initial cluster: name "${name}" appears twice`);
    if (out.some((m) => m.peerUrl === url)) throw new TypeError(`initial cluster: ${url} appears twice`);
    out.push({ name, peerUrl: url });
  }
  if (out.length === 0) throw new TypeError('initial cluster: no members');
  return out;
}

function uint64(...parts: string[]): string {
  const n = createHash('sha256').update(parts.join('\0')).digest().readBigUInt64BE();
  return (n === 0n ? 1n : n).toString();
}

/** The IDs of a statically bootstrapped cluster: the same on every member given the same list and secret. */
export function staticCluster(
  secret: string,
  members: InitialMember[],
): { clusterId: string; members: StaticMember[] } {
  const sorted = [...members].sort((a, b) => (a.peerUrl < b.peerUrl ? -1 : a.peerUrl > b.peerUrl ? 1 : 0));
  const out = sorted.map((m, i) => ({
    ...m,
    memberId: uint64('chainfire-member', secret, m.peerUrl),
    nodeNum: i + 1,
  }));
  return { clusterId: uint64('chainfire-cluster', secret, ...sorted.map((m) => m.peerUrl)), members: out };
}

/** The data of member `m`'s bootstrap membership entry: a full member record, byte-identical everywhere. */
export function bootstrapEntryData(m: StaticMember): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      type: 'addNode',
      nodeId: m.memberId,
      nodeNum: m.nodeNum,
      name: m.name,
      // Peer traffic and clients share the gRPC listener.
      peerUrls: [m.peerUrl],
      clientUrls: [m.peerUrl],
    }),
  );
}
