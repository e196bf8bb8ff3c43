// The ground's node: containerd (Debian's, with runc and the CNI plugins), a kubelet and the
// kube-scheduler, so pods really run. Everything lives in the ground's directory, in a cgroup
// of its own and behind a bridge and pod subnet of its own, because several grounds with nodes
// run on one machine at once; stop() gives all of it back (processes, mounts, links, cgroups).
//
// Facts of the machines this runs on (issue 11): cgroup v1 only (failCgroupV1: false,
// cgroupfs); a negative oom_score_adj is refused (containerd's restrict_oom_score_adj); the
// kubelet refuses a loopback --node-ip.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { NodeInfo } from './context.js';
import {
  cgroupMounts,
  createCgroup,
  deleteBridge,
  freePodSubnet,
  killAndRemoveCgroup,
  leftovers,
  nodeAddress,
  removeContainerLogLinks,
  unmountUnder,
} from './host-resources.js';
import { BUSYBOX_IMAGE, LIFEBOAT_IMAGE, PAUSE_IMAGE, type GroundImageTarball } from './images.js';
import { freePort, startProcess, stopProcess, tail, waitFor, type Proc } from './process.js';

const run = promisify(execFile);

/** Debian's containernetworking-plugins install here. */
const CNI_BIN_DIR = '/usr/lib/cni';
const CTR = 'ctr';

export interface NodeBinaries {
  kubelet: string;
  scheduler: string;
  pause: string;
}

export interface GroundNode {
  /** Start the kubelet and scheduler against the apiserver; resolves once the node is Ready. */
  join(kubeconfigPath: string): Promise<NodeInfo>;
  /** Stop everything and sweep; throws naming whatever is left on the machine. */
  stop(): Promise<void>;
}

export interface NodeOptions {
  /** The ground's directory; the node's state goes to <dir>/node. */
  dir: string;
  logDir: string;
  bins: NodeBinaries;
  /** The image tarballs, being written while the control plane starts. */
  images: Promise<GroundImageTarball[]>;
  log: (line: string) => void;
}

/** Fails with the reason when the machine cannot run the node (never a silent skip). */
export function assertNodeCanRun(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the test ground node needs root (containerd, runc, mounts and network namespaces); run the tests as root',
    );
  }
  const missing = [
    '/usr/bin/containerd',
    '/usr/bin/runc',
    '/usr/bin/ctr',
    join(CNI_BIN_DIR, 'bridge'),
  ].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`the test ground node needs ${missing.join(', ')}: run 'bash scripts/build-ground.sh'`);
  }
}

function containerdConfig(opts: { root: string; state: string; socket: string; cniConfDir: string }): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${opts.root}"
state = "${opts.state}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "${opts.socket}"
[ttrpc]
  address = "${opts.socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${opts.root}/opt"

[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  # This VM refuses a negative oom_score_adj; without this runc fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  # Pods' network namespaces are bind-mounted inside the ground's directory, not /run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${opts.state}/runc"
  [${cri}.cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${opts.cniConfDir}"
    max_conf_num = 1
`;
}

function cniConflist(opts: { network: string; bridge: string; subnet: string; ipamDir: string }): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: opts.network,
      plugins: [
        {
          type: 'bridge',
          bridge: opts.bridge,
          isGateway: true,
          // No masquerading and no portmap: pods talk to this machine only, and neither
          // leaves iptables rules behind.
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: opts.subnet }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: opts.ipamDir,
          },
        },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(opts: {
  nodeIp: string;
  port: number;
  healthzPort: number;
  cgroupRoot: string;
  socket: string;
  podLogsDir: string;
  volumePluginDir: string;
}): string {
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: opts.nodeIp,
      port: opts.port,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: opts.healthzPort,
      // TEST GROUND ONLY: anyone who reaches the kubelet's port may use its whole API. The
      // apiserver reaches it for logs, exec and port-forward without a client certificate
      // this way; a real node authenticates the apiserver and authorizes by webhook.
      authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
      authorization: { mode: 'AlwaysAllow' },
      // cgroup v1 only on these machines, and no systemd.
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      // This ground's pods go below a cgroup of its own, so the sweep at stop() finds them.
      cgroupRoot: opts.cgroupRoot,
      containerRuntimeEndpoint: `unix://${opts.socket}`,
      podLogsDir: opts.podLogsDir,
      volumePluginDir: opts.volumePluginDir,
      failSwapOn: false,
      // The images are imported, never pulled: image GC must not delete them, and a full disk
      // of another tenant must not evict the tests' pods.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: {
        'memory.available': '50Mi',
        'nodefs.available': '1%',
        'nodefs.inodesFree': '1%',
        'imagefs.available': '1%',
      },
      resolvConf: '/etc/resolv.conf',
      serializeImagePulls: false,
      syncFrequency: '10s',
      shutdownGracePeriod: '0s',
      shutdownGracePeriodCriticalPods: '0s',
      rotateCertificates: false,
      serverTLSBootstrap: false,
    },
    null,
    2,
  );
}

/** The name of the socket containerd-shim-runc-v2 makes for task `id` (containerd 1.6's SocketAddress). */
function shimSocket(containerdSocket: string, namespace: string, id: string): string {
  const hash = createHash('sha256')
    .update(join(containerdSocket, namespace, id))
    .digest('hex');
  return join('/run/containerd/s', hash);
}

async function ctr(socket: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(CTR, ['--address', socket, '--namespace', 'k8s.io', ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ctr ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

async function nodeReady(kc: KubeConfig, name: string): Promise<boolean> {
  const node = await kc.makeApiClient(CoreV1Api).readNode({ name });
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  // The node-lifecycle controller removes the not-ready taint once it sees Ready; until then
  // nothing is scheduled.
  const tainted = (node.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready');
  return ready && !tainted;
}

/**
 * Start the node in two steps: containerd (and the image import, the slow part) right away, in
 * parallel with the control plane; the kubelet and scheduler once the apiserver is up (join).
 * stop() may be called at any point, also while the runtime is still starting.
 */
export function startNode(opts: NodeOptions): GroundNode {
  const id = randomBytes(3).toString('hex');
  const name = `ground-${id}`;
  const bridge = `lbg${id}`;
  const cgroupRoot = `/lifeboat-ground-${id}`;
  const base = join(opts.dir, 'node');
  const paths = {
    containerdRoot: join(base, 'containerd', 'root'),
    containerdState: join(base, 'containerd', 'state'),
    containerdConfig: join(base, 'containerd', 'config.toml'),
    socket: join(base, 'containerd.sock'),
    cniConfDir: join(base, 'cni', 'net.d'),
    ipamDir: join(base, 'cni', 'ipam'),
    kubeletRootDir: join(base, 'kubelet'),
    kubeletConfig: join(base, 'kubelet-config.json'),
    podLogsDir: join(base, 'pod-logs'),
    volumePluginDir: join(base, 'volume-plugins'),
  };
  const procs: Proc[] = [];
  let cgroupMade = false;
  let stopping = false;

  const startRuntime = async (): Promise<{ subnet: string }> => {
    const subnet = await freePodSubnet();
    await Promise.all(
      [
        paths.containerdRoot,
        paths.containerdState,
        paths.cniConfDir,
        paths.ipamDir,
        paths.kubeletRootDir,
      ].map((d) => mkdir(d, { recursive: true })),
    );
    await writeFile(
      paths.containerdConfig,
      containerdConfig({
        root: paths.containerdRoot,
        state: paths.containerdState,
        socket: paths.socket,
        cniConfDir: paths.cniConfDir,
      }),
    );
    await writeFile(
      join(paths.cniConfDir, '10-ground.conflist'),
      cniConflist({ network: `lifeboat-ground-${id}`, bridge, subnet, ipamDir: paths.ipamDir }),
    );

    // containerd joins the node's cgroup before it execs, so its shims (forked later) are
    // there too.
    const runtimeCgroup = `${cgroupRoot}/runtime`;
    await createCgroup(runtimeCgroup);
    cgroupMade = true;
    if (stopping) throw new Error('the ground is stopping');
    const procsFiles = (await cgroupMounts()).map((m) => join(m, runtimeCgroup, 'cgroup.procs'));
    const containerd = startProcess({
      name: 'containerd',
      bin: '/bin/sh',
      logDir: opts.logDir,
      args: [
        '-c',
        'for f in $CGROUP_PROCS; do echo $$ > "$f"; done; exec "$0" "$@"',
        '/usr/bin/containerd',
        '--config',
        paths.containerdConfig,
        '--log-level',
        'warn',
      ],
      env: { CGROUP_PROCS: procsFiles.join(' ') },
    });
    procs.push(containerd);
    await waitFor(containerd, () => ctr(paths.socket, ['version']).then(() => true));
    opts.log(`containerd ready at ${paths.socket}`);

    const tarballs = await opts.images;
    const t0 = Date.now();
    await Promise.all(tarballs.map((t) => ctr(paths.socket, ['images', 'import', t.path])));
    const listed = await ctr(paths.socket, ['images', 'ls', '-q']);
    const missing = tarballs.filter((t) => !listed.split('\n').includes(t.name));
    if (missing.length > 0) {
      throw new Error(`images not in containerd after import: ${missing.map((t) => t.name).join(', ')}`);
    }
    opts.log(
      `images imported in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${tarballs.map((t) => t.name).join(', ')}`,
    );
    return { subnet };
  };
  const runtime = startRuntime();
  runtime.catch(() => undefined); // awaited by join() and stop()

  const join_ = async (kubeconfigPath: string): Promise<NodeInfo> => {
    const { subnet } = await runtime;
    const [nodeIp, kubeletPort, healthzPort] = await Promise.all([nodeAddress(), freePort(), freePort()]);
    await writeFile(
      paths.kubeletConfig,
      kubeletConfig({
        nodeIp,
        port: kubeletPort,
        healthzPort,
        cgroupRoot,
        socket: paths.socket,
        podLogsDir: paths.podLogsDir,
        volumePluginDir: paths.volumePluginDir,
      }),
    );
    const kubelet = startProcess({
      name: 'kubelet',
      bin: opts.bins.kubelet,
      logDir: opts.logDir,
      args: [
        `--config=${paths.kubeletConfig}`,
        `--kubeconfig=${kubeconfigPath}`,
        `--hostname-override=${name}`,
        `--node-ip=${nodeIp}`,
        `--root-dir=${paths.kubeletRootDir}`,
        `--cert-dir=${join(paths.kubeletRootDir, 'pki')}`,
        `--pod-infra-container-image=${PAUSE_IMAGE}`,
        '--v=1',
      ],
    });
    procs.push(kubelet);
    const scheduler = startProcess({
      name: 'kube-scheduler',
      bin: opts.bins.scheduler,
      logDir: opts.logDir,
      args: [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--secure-port=0',
        '--leader-elect=false',
        '--v=1',
      ],
    });
    procs.push(scheduler);

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const t1 = Date.now();
    await waitFor(kubelet, () => nodeReady(kc, name));
    if (scheduler.child.exitCode !== null) {
      throw new Error(`kube-scheduler exited during start-up:\n${await tail(scheduler.logPath)}`);
    }
    opts.log(
      `node ${name} Ready in ${((Date.now() - t1) / 1000).toFixed(1)}s (${nodeIp}, pods ${subnet} on ${bridge})`,
    );
    return {
      name,
      ip: nodeIp,
      kubeletRootDir: paths.kubeletRootDir,
      containerdSocket: paths.socket,
      podSubnet: subnet,
      bridge,
      cgroupRoot,
      images: { pause: PAUSE_IMAGE, busybox: BUSYBOX_IMAGE, lifeboat: LIFEBOAT_IMAGE },
    };
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    await runtime.catch(() => undefined);
    const errors: string[] = [];
    const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
      await fn().catch((err: unknown) => errors.push(`${what}: ${(err as Error).message}`));
    };
    for (const p of [...procs].reverse()) await attempt(`stopping ${p.name}`, () => stopProcess(p));
    // containerd's shims and every container process are in the node's cgroup: kill them all
    // there (the shims outlive containerd by design) and remove the cgroups.
    if (cgroupMade) await attempt('cgroups', () => killAndRemoveCgroup(cgroupRoot));
    const taskDir = join(paths.containerdState, 'io.containerd.runtime.v2.task', 'k8s.io');
    const taskIds = await readdir(taskDir).catch(() => [] as string[]);
    await attempt('shim sockets', async () => {
      await Promise.all(taskIds.map((t) => rm(shimSocket(paths.socket, 'k8s.io', t), { force: true })));
    });
    // Container root file systems, pod volumes, the kubelet's own bind mount, netns mounts.
    await attempt('mounts', () => unmountUnder(base));
    // The pods' veths went with their network namespaces; the bridge is ours to delete.
    await attempt('bridge', () => deleteBridge(bridge));
    await attempt('container log links', () => removeContainerLogLinks(paths.podLogsDir));
    // Prove it: nothing of this node may be left on the machine.
    const left = await leftovers({ dir: base, bridge, cgroupRoot });
    if (left.length > 0) errors.push(`left behind:\n  ${left.join('\n  ')}`);
    if (errors.length > 0) throw new Error(`the ground node did not stop cleanly:\n${errors.join('\n')}`);
  };

  return { join: join_, stop };
}
