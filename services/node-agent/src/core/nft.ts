/**
 * The service dataplane as an nftables script, pure. One table owned by PhotonCloud is replaced as a
 * whole (`table …; delete table …; table … {…}` in one `nft -f` transaction), so rules always match the
 * endpoints exactly: ClusterIP:port is DNATed to a random endpoint (numgen), connections that were DNATed
 * onto the pod bridge are masqueraded (host → ClusterIP, and hairpin pod → its own service), pod egress
 * to elsewhere is masqueraded, and a ClusterIP:port without endpoints is refused with a reset.
 */

/** One service port with its endpoints. */
export interface NftServicePort {
  clusterIp: string;
  port: number;
  targetPort: number;
  protocol: 'TCP' | 'UDP';
  endpoints: string[];
}

/** What the table is built from. */
export interface NftInput {
  table: string;
  bridge: string;
  podCidr: string;
  services: NftServicePort[];
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,30}$/;
const IP = /^\d{1,3}(\.\d{1,3}){3}$/;
const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

function rule(s: NftServicePort): string | null {
  if (!IP.test(s.clusterIp) || !s.endpoints.every((e) => IP.test(e))) return null;
  const proto = s.protocol === 'UDP' ? 'udp' : 'tcp';
  const match = `ip daddr ${s.clusterIp} ${proto} dport ${s.port}`;
  if (s.endpoints.length === 0) return null;
  if (s.endpoints.length === 1) return `${match} dnat to ${s.endpoints[0] as string}:${s.targetPort}`;
  const map = s.endpoints.map((e, i) => `${i} : ${e}`).join(', ');
  return `${match} dnat to numgen random mod ${s.endpoints.length} map { ${map} } : ${s.targetPort}`;
}

function rejectRule(s: NftServicePort): string | null {
  if (!IP.test(s.clusterIp) || s.endpoints.length > 0) return null;
  return s.protocol === 'UDP'
    ? `ip daddr ${s.clusterIp} udp dport ${s.port} reject`
    : `ip daddr ${s.clusterIp} tcp dport ${s.port} reject with tcp reset`;
}

/** The nft script; throws on names that could inject syntax (they come from the agent's own settings). */
export function renderNft(input: NftInput): string {
  if (!NAME.test(input.table) || !NAME.test(input.bridge) || !CIDR.test(input.podCidr)) {
    throw new Error('bad nft table, bridge or pod CIDR');
  }
  const sorted = [...input.services].sort((a, b) =>
    a.clusterIp === b.clusterIp ? a.port - b.port : a.clusterIp < b.clusterIp ? -1 : 1,
  );
  const dnat = sorted.map(rule).filter((r): r is string => r !== null);
  const reject = sorted.map(rejectRule).filter((r): r is string => r !== null);
  const t = input.table;
  const br = input.bridge;
  return [
    `table ip ${t}`,
    `delete table ip ${t}`,
    `table ip ${t} {`,
    `  chain services {`,
    ...dnat.map((r) => `    ${r}`),
    `  }`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    `    jump services`,
    `  }`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
    `    jump services`,
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    oifname "${br}" ct status dnat masquerade`,
    `    ip saddr ${input.podCidr} oifname != "${br}" masquerade`,
    `  }`,
    `  chain no_endpoints {`,
    ...reject.map((r) => `    ${r}`),
    `  }`,
    `  chain filter_output {`,
    `    type filter hook output priority filter; policy accept;`,
    `    jump no_endpoints`,
    `  }`,
    `  chain filter_forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    `    jump no_endpoints`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}
