/**
 * The node's pod network: a Linux bridge holding the gateway address of the node's /24, and per pod a
 * network namespace (`ip netns add`, joined by the container through its path) with one end of a veth
 * pair renamed `eth0` inside it, the other end enslaved to the bridge. Only the agent's own bridge,
 * namespaces (`pcns-…`) and veths (`pcv…`) are ever touched.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { execTool, ToolError } from './exec.js';

/** Names and addresses of one pod's network. */
export interface PodNetNames {
  netns: string;
  hostVeth: string;
  ip: string;
  prefix: number;
  gateway: string;
}

/** Names derived from a pod uid (veth names must fit IFNAMSIZ, 15 chars). */
export function podNetNames(uid: string): { netns: string; hostVeth: string; peerVeth: string } {
  const u = uid.replace(/[^a-z0-9]/g, '').slice(0, 12);
  return { netns: `pcns-${uid}`, hostVeth: `pcv${u}`, peerVeth: `pcp${u}` };
}

/** Path of a named network namespace (what the OCI config joins). */
export function netnsPath(netns: string): string {
  return `/var/run/netns/${netns}`;
}

async function ip(args: string[]): Promise<string> {
  return execTool('ip', args, { timeoutMs: 20_000 });
}

async function linkExists(name: string): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/** Enable IPv4 forwarding (routed pod ↔ ClusterIP traffic needs it); returns whether it was off before. */
export async function enableIpForward(): Promise<boolean> {
  const p = '/proc/sys/net/ipv4/ip_forward';
  const cur = (await readFile(p, 'utf8')).trim();
  if (cur === '1') return false;
  await writeFile(p, '1');
  return true;
}

/** Create (or keep) the bridge with the gateway address, up; route the service CIDR onto it. */
export async function ensureBridge(
  bridge: string,
  gateway: string,
  prefix: number,
  serviceCidr: string,
): Promise<void> {
  if (!(await linkExists(bridge))) {
    try {
      await ip(['link', 'add', 'name', bridge, 'type', 'bridge']);
    } catch (err) {
      if (!(await linkExists(bridge))) throw err;
    }
  }
  await ip(['addr', 'replace', `${gateway}/${prefix}`, 'dev', bridge]);
  await ip(['link', 'set', 'dev', bridge, 'up']);
  await ip(['route', 'replace', serviceCidr, 'dev', bridge, 'src', gateway]);
}

/** Remove the bridge (agent tests clean up with this; a production agent keeps it). */
export async function removeBridge(bridge: string, serviceCidr: string): Promise<void> {
  await ip(['route', 'del', serviceCidr, 'dev', bridge]).catch(() => undefined);
  if (await linkExists(bridge)) await ip(['link', 'del', 'dev', bridge]).catch(() => undefined);
}

/** Whether a named netns exists. */
export async function netnsExists(netns: string): Promise<boolean> {
  const out = await ip(['netns', 'list']);
  return out.split('\n').some((l) => l.split(' ')[0] === netns);
}

/**
 * Create the pod's namespace and veth pair, address it, default-route it via the bridge. Idempotent.
 * The fast path (a new pod) takes four `ip` runs: netns add, veth add (peer created as `eth0` inside the
 * netns), one batch on the host side and one inside the namespace.
 */
export async function setupPodNetwork(
  uid: string,
  bridge: string,
  n: Omit<PodNetNames, 'netns' | 'hostVeth'>,
): Promise<PodNetNames> {
  const names = podNetNames(uid);
  try {
    await ip(['netns', 'add', names.netns]);
  } catch (err) {
    if (!(await netnsExists(names.netns))) throw err;
  }
  try {
    await ip([
      'link',
      'add',
      'name',
      names.hostVeth,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      names.netns,
    ]);
  } catch (err) {
    // Already there from an interrupted earlier attempt: keep it if complete, else rebuild it.
    const hasEth0 = await ip(['-n', names.netns, 'link', 'show', 'dev', 'eth0']).then(
      () => true,
      () => false,
    );
    if (!hasEth0 || !(await linkExists(names.hostVeth))) {
      if (await linkExists(names.hostVeth)) await ip(['link', 'del', 'dev', names.hostVeth]);
      await ip(['-n', names.netns, 'link', 'del', 'dev', 'eth0']).catch(() => undefined);
      await ip([
        'link',
        'add',
        'name',
        names.hostVeth,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        names.netns,
      ]);
    } else if (!(err instanceof ToolError)) {
      throw err;
    }
  }
  // Hairpin: a pod reaching its own service is DNATed back out of the port it came in on (with
  // br_netfilter loaded, that traffic is bridged, not routed).
  await execTool('ip', ['-batch', '-'], {
    input: [
      `link set dev ${names.hostVeth} master ${bridge}`,
      `link set dev ${names.hostVeth} type bridge_slave hairpin on`,
      `link set dev ${names.hostVeth} up`,
      '',
    ].join('\n'),
    timeoutMs: 20_000,
  });
  await execTool('ip', ['-n', names.netns, '-batch', '-'], {
    input: [
      `addr replace ${n.ip}/${n.prefix} dev eth0`,
      'link set dev lo up',
      'link set dev eth0 up',
      `route replace default via ${n.gateway} dev eth0`,
      '',
    ].join('\n'),
    timeoutMs: 20_000,
  });
  return { netns: names.netns, hostVeth: names.hostVeth, ...n };
}

/** Remove the pod's namespace (its eth0 goes with it, and so does the host end of the pair). */
export async function teardownPodNetwork(uid: string): Promise<void> {
  const names = podNetNames(uid);
  if (await netnsExists(names.netns)) {
    try {
      await ip(['netns', 'del', names.netns]);
    } catch (err) {
      if (!(err instanceof ToolError)) throw err;
    }
  }
  if (await linkExists(names.hostVeth))
    await ip(['link', 'del', 'dev', names.hostVeth]).catch(() => undefined);
}
