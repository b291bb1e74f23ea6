/**
 * CPU time and memory of a server's process tree, from Linux /proc. The bench reports server CPU per
 * request next to throughput: on a 2-core box the client competes with the server for CPU, and CPU per
 * request is the figure that stays comparable when throughput is client-bound.
 */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times; 100 on every Linux architecture we run on. */
const CLK_TCK = 100;

/** PIDs of `pid` and all its live descendants (a CLI may run the server in a child process). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  // Bounded: a process tree cannot be larger than the PID space, and each PID is visited once.
  const seen = new Set<number>();
  while (queue.length > 0 && seen.size < 65_536) {
    const p = queue.shift() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
    let tids: string[] = [];
    try {
      tids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      // The process exited, or the kernel lacks CONFIG_PROC_CHILDREN: count this PID alone.
    }
    for (const t of tids) queue.push(Number(t));
  }
  return out;
}

/** Parse user+system CPU seconds (including reaped children) from the text of /proc/<pid>/stat. */
export function parseStatCpuSeconds(stat: string): number {
  // The command name (field 2) is in parentheses and may contain spaces or ')': split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime, stime, cutime, cstime are fields 14–17.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(rest[i] ?? 0), 0);
  return ticks / CLK_TCK;
}

/** CPU seconds (user + system) used so far by `pid` and its descendants; 0 for PIDs that are gone. */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += parseStatCpuSeconds(readFileSync(`/proc/${p}/stat`, 'utf8'));
    } catch {
      // Exited between listing and reading.
    }
  }
  return total;
}

/** Resident set size in bytes of `pid` and its descendants (VmRSS), 0 for PIDs that are gone. */
export function treeRssBytes(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // Exited between listing and reading.
    }
  }
  return total;
}

/** Parse the busy CPU seconds of the whole machine from the text of /proc/stat (all CPUs summed). */
export function parseMachineBusySeconds(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice: guest time is already in user.
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

/** Busy CPU seconds of the whole machine so far (every process, all CPUs). */
export function machineBusySeconds(): number {
  try {
    return parseMachineBusySeconds(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return 0;
  }
}
