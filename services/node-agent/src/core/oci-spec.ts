/**
 * The OCI runtime config (config.json) of a pod's container, pure: its own PID, mount, UTS, IPC and
 * network namespaces (the network namespace is the pod's, created by the agent and joined by path),
 * the image's rootfs, the process (args, env, cwd, no terminal — stdout/stderr are inherited from the
 * shim, which points them at the pod's log file), Docker's default capability set, and cgroup limits.
 */

/** What the container is built from. */
export interface ContainerSpecInput {
  args: string[];
  env: string[];
  cwd: string;
  hostname: string;
  netnsPath: string;
  /** Absolute path of the bundle's `hosts` file, bind-mounted at /etc/hosts; null for none. */
  hostsFile: string | null;
  /** Memory limit in bytes; null for none. */
  memoryLimit: number | null;
  /** CPU limit in millicores; null for none. */
  cpuLimitMilli: number | null;
  /** CPU request in millicores (→ cpu shares); 0 for the minimum. */
  cpuRequestMilli: number;
  /** runc cgroups path, e.g. `/photoncloud/<uid>`. */
  cgroupsPath: string;
}

const CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** CPU shares as Kubernetes derives them from a request (1 core = 1024, minimum 2). */
export function cpuShares(milli: number): number {
  return Math.max(2, Math.floor((milli * 1024) / 1000));
}

/** Build config.json (OCI runtime spec 1.0). */
export function buildOciSpec(c: ContainerSpecInput): Record<string, unknown> {
  const resources: Record<string, unknown> = {
    devices: [{ allow: false, access: 'rwm' }],
    cpu: {
      shares: cpuShares(c.cpuRequestMilli),
      ...(c.cpuLimitMilli === null ? {} : { quota: Math.max(1000, c.cpuLimitMilli * 100), period: 100_000 }),
    },
    pids: { limit: 4096 },
  };
  if (c.memoryLimit !== null) resources['memory'] = { limit: c.memoryLimit };
  const mounts: Array<Record<string, unknown>> = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
  ];
  if (c.hostsFile !== null) {
    mounts.push({ destination: '/etc/hosts', type: 'bind', source: c.hostsFile, options: ['rbind', 'ro'] });
  }
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: c.args,
      env: c.env,
      cwd: c.cwd,
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: [] },
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: c.hostname,
    mounts,
    linux: {
      cgroupsPath: c.cgroupsPath,
      resources,
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'network', path: c.netnsPath },
      ],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** The image config fields that shape the process. */
export interface ImageProcessConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
}

/**
 * The process args as Kubernetes combines pod and image: `command` replaces the image's Entrypoint (and
 * drops its Cmd), `args` replace Cmd. Null when nothing is left to run.
 */
export function processArgs(command: string[], args: string[], image: ImageProcessConfig): string[] | null {
  const entry = command.length > 0 ? command : (image.Entrypoint ?? []);
  const cmd = args.length > 0 ? args : command.length > 0 ? [] : (image.Cmd ?? []);
  const out = [...entry, ...cmd];
  return out.length === 0 ? null : out;
}

/** Environment: the image's, overridden by the pod's (by name), plus PATH when neither sets it. */
export function processEnv(
  image: ImageProcessConfig,
  pod: Array<{ name: string; value: string }>,
  hostname: string,
): string[] {
  const env = new Map<string, string>();
  env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  for (const e of image.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  env.set('HOSTNAME', hostname);
  for (const e of pod) env.set(e.name, e.value);
  return [...env].map(([k, v]) => `${k}=${v}`);
}
