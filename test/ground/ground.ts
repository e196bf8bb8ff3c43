// The test ground: real etcd, kube-apiserver, kube-controller-manager and an S3 server
// (versitygw), built from the Go module proxy by scripts/build-ground.sh and started here on
// loopback with free ports and data in a temporary directory. Used by the vitest global
// setup, `npm run cluster`, the demo and the benchmarks.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { GroundInfo, S3Endpoint } from './context.js';
import { mountsUnder } from './host-resources.js';
import { groundImageTarballs } from './images.js';
import { csiBinaries, installCrds, startCsi, type CsiBinaries } from './csi.js';
import { assertNodeCanRun, startNode, type GroundNode, type NodeBinaries } from './node.js';
import { giteaBinary, startForge } from './forge.js';
import { freePort, startProcess, stopProcess, tail, waitFor, type Proc } from './process.js';

const here = dirname(fileURLToPath(import.meta.url));
const versions = JSON.parse(readFileSync(join(here, 'versions.json'), 'utf8')) as {
  kube: string;
  etcd: string;
  versitygw: string;
};

export interface Ground {
  info: GroundInfo;
  stop(): Promise<void>;
  /** Send a signal to one server (SIGSTOP freezes it, SIGCONT thaws it); tests of failures. */
  signal(component: GroundComponent, signal: NodeJS.Signals): void;
  /** Stop one server (SIGTERM), then start it again with the same flags and data. */
  restart(component: GroundComponent): Promise<void>;
}

/**
 * Something started after the control plane (and the node, when there is one, once it is
 * Ready), stopped before them. The CSI driver and its sidecars (test/ground/csi.ts) hook in
 * here.
 */
export type GroundStarter = (ground: {
  info: GroundInfo;
  dir: string;
  logDir: string;
  log: (line: string) => void;
}) => Promise<{ stop(): Promise<void> }>;
export type GroundComponent = 'etcd' | 'versitygw' | 'kube-apiserver' | 'kube-controller-manager';

export interface GroundOptions {
  /**
   * Start a node too: containerd, kubelet and kube-scheduler, so pods run
   * (test/ground/node.ts). Needs root and the packages scripts/build-node.sh installs.
   */
  node?: boolean;
  /**
   * CSI storage on the node: our driver with csi-provisioner, csi-snapshotter and the
   * snapshot-controller (test/ground/csi.ts). On by default when there is a node.
   */
  csi?: boolean;
  /**
   * A forge: Gitea with users, tokens and a policy repository (test/ground/forge.ts). Off by
   * default; the suite's global setup leaves it off and the forge tests start their own.
   */
  forge?: boolean;
  /** Started in this order once everything else is up (see GroundStarter). */
  starters?: GroundStarter[];
  /**
   * Use this S3 server instead of starting one: a second ground (a second cluster) that shares
   * the first ground's bucket, as a disaster-recovery cluster shares the backup location.
   */
  s3?: S3Endpoint;
  /** Where data, certificates and logs go; a fresh temp dir by default. */
  dir?: string;
  /** How often the apiserver compacts etcd. Short in tests, so the 410 path is real. */
  compactionInterval?: string;
  /** More kube-apiserver flags, after the ground's own (e.g. `--goaway-chance=0.02`). */
  apiserverArgs?: string[];
  log?: (line: string) => void;
}

const repoRoot = join(here, '..', '..');

function apiserverExtraArgs(options: GroundOptions): string[] {
  return options.apiserverArgs ?? [];
}

function cacheDir(): string {
  return process.env.LIFEBOAT_CACHE ?? join(homedir(), '.cache', 'lifeboat');
}

/** Paths of the cached binaries; fails with the reason when a build is missing. */
export function groundBinaries(): Record<'etcd' | 'apiserver' | 'controllerManager' | 'versitygw', string> {
  const c = cacheDir();
  const bins = {
    etcd: join(c, 'etcd', versions.etcd, 'etcd'),
    apiserver: join(c, 'kube', versions.kube, 'kube-apiserver'),
    controllerManager: join(c, 'kube', versions.kube, 'kube-controller-manager'),
    versitygw: join(c, 'versitygw', versions.versitygw, 'versitygw'),
  };
  const missing = Object.values(bins).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `test ground binaries missing: ${missing.join(', ')}. Run 'bash scripts/build-ground.sh' (npm test does this).`,
    );
  }
  return bins;
}

/** Paths of the node's cached binaries (scripts/build-node.sh); fails with the reason when missing. */
export function nodeBinaries(): NodeBinaries {
  const c = cacheDir();
  const bins = {
    kubelet: join(c, 'kube', versions.kube, 'kubelet'),
    scheduler: join(c, 'kube', versions.kube, 'kube-scheduler'),
    pause: join(c, 'pause', versions.kube, 'pause'),
  };
  const missing = Object.values(bins).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `test ground node binaries missing: ${missing.join(', ')}. Run 'bash scripts/build-ground.sh' (npm test does this).`,
    );
  }
  return bins;
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url);
  return res.ok;
}

function httpsGet(url: string, opts: { ca: Buffer; token: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: new Agent({ ca: opts.ca }), headers: { authorization: `Bearer ${opts.token}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function kubeconfigYaml(opts: { server: string; caPath: string; token: string }): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: lifeboat-ground',
    '  cluster:',
    `    server: ${opts.server}`,
    `    certificate-authority: ${opts.caPath}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${opts.token}`,
    'contexts:',
    '- name: lifeboat-ground',
    '  context: { cluster: lifeboat-ground, user: admin }',
    'current-context: lifeboat-ground',
    '',
  ].join('\n');
}

/** versitygw (posix backend, with versioning; metadata in a sidecar dir, for file systems without user xattrs). */
function startS3Server(o: { bin: string; dir: string; logDir: string; port: number }): {
  s3: S3Endpoint;
  proc: Proc;
} {
  const s3 = {
    endpoint: `http://127.0.0.1:${o.port}`,
    region: 'us-east-1',
    accessKeyId: 'lifeboat-test',
    secretAccessKey: randomBytes(18).toString('base64url'),
  };
  const proc = startProcess({
    name: 'versitygw',
    bin: o.bin,
    logDir: o.logDir,
    args: [
      `--port=127.0.0.1:${o.port}`,
      `--access=${s3.accessKeyId}`,
      `--secret=${s3.secretAccessKey}`,
      `--region=${s3.region}`,
      '--quiet',
      'posix',
      `--versioning-dir=${join(o.dir, 'object-versions')}`,
      `--sidecar=${join(o.dir, 'object-meta')}`,
      join(o.dir, 'buckets'),
    ],
  });
  return { s3, proc };
}

export async function startGround(options: GroundOptions = {}): Promise<Ground> {
  const log = options.log ?? (() => undefined);
  const bins = groundBinaries();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'lifeboat-ground-')));
  const logDir = join(dir, 'logs');
  const workDir = join(dir, 'work');
  await Promise.all(
    ['logs', 'work', 'etcd', 'certs', 'buckets', 'object-versions', 'object-meta'].map((d) =>
      mkdir(join(dir, d), { recursive: true }),
    ),
  );
  const procs: Proc[] = [];
  /** Stopped before the processes, last started first: the node, the starters. */
  const stoppers: (() => Promise<void>)[] = [];
  /** How each server is known to be ready, for restart(). */
  const readiness = new Map<string, (p: Proc) => Promise<void>>();

  const stop = async (): Promise<void> => {
    const errors: string[] = [];
    for (const s of [...stoppers].reverse())
      await s().catch((err: unknown) => errors.push((err as Error).message));
    for (const p of [...procs].reverse()) {
      // A frozen process ignores SIGTERM until it is thawed.
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGCONT');
      await stopProcess(p);
    }
    // Never rm -rf through a mount that is still there.
    const mounted = await mountsUnder(dir);
    if (mounted.length > 0) errors.push(`still mounted, ${dir} kept: ${mounted.join(', ')}`);
    else if (!options.dir) await rm(dir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(errors.join('\n'));
  };

  // The node's containerd starts, and its images are written (or found in the cache) and
  // imported, while the control plane starts; the kubelet joins once the apiserver is up.
  let node: GroundNode | undefined;
  let csiBins: CsiBinaries | undefined;
  if (options.forge) giteaBinary(); // a missing build fails before anything starts
  if (options.node) {
    assertNodeCanRun();
    const bins = nodeBinaries();
    if (options.csi !== false) csiBins = csiBinaries(cacheDir());
    const images = groundImageTarballs({ repo: repoRoot, cacheDir: cacheDir(), pauseBinary: bins.pause });
    images.catch(() => undefined); // awaited by the node; a failure surfaces there
    const started = startNode({ dir, logDir, bins, images, log });
    node = started;
    stoppers.push(() => started.stop());
  }

  try {
    // etcd
    const [etcdPort, peerPort, apiPort, s3Port] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = startProcess({
      name: 'etcd',
      bin: bins.etcd,
      logDir,
      args: [
        '--name=ground',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=ground=http://127.0.0.1:${peerPort}`,
        // Test data only: skipping fsync keeps 2-core CI fast.
        '--unsafe-no-fsync',
        '--quota-backend-bytes=8589934592',
        '--log-level=warn',
      ],
    });
    procs.push(etcd);

    // S3 server (versitygw, posix backend, with versioning; metadata in a sidecar dir so it
    // works on file systems without user xattrs).
    const { s3, proc: vgw } = options.s3
      ? { s3: options.s3, proc: undefined }
      : startS3Server({ bin: bins.versitygw, dir, logDir, port: s3Port });
    if (vgw) procs.push(vgw);

    await waitFor(etcd, () => httpOk(`${etcdUrl}/health`));
    log(`etcd ready at ${etcdUrl}`);

    // kube-apiserver: self-signed serving cert in --cert-dir, a static admin token in
    // system:masters, RBAC, and service-account keys.
    const token = randomBytes(24).toString('hex');
    const certDir = join(dir, 'certs');
    const tokensPath = join(certDir, 'tokens.csv');
    await writeFile(tokensPath, `${token},lifeboat-admin,lifeboat-admin,"system:masters"\n`, { mode: 0o600 });
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(certDir, 'sa.key');
    const saPub = join(certDir, 'sa.pub');
    await writeFile(saKey, sa.privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    await writeFile(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
    const apiserverUrl = `https://127.0.0.1:${apiPort}`;
    const apiserver = startProcess({
      name: 'kube-apiserver',
      bin: bins.apiserver,
      logDir,
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${certDir}`,
        `--token-auth-file=${tokensPath}`,
        '--authorization-mode=RBAC',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--service-node-port-range=30000-32767',
        `--etcd-compaction-interval=${options.compactionInterval ?? '5m'}`,
        '--allow-privileged=true',
        '--profiling=false',
        '--max-requests-inflight=1000',
        '--max-mutating-requests-inflight=500',
        // The kubelet serves on the machine's address (a loopback --node-ip is refused).
        '--kubelet-preferred-address-types=InternalIP',
        '--v=1',
        ...apiserverExtraArgs(options),
      ],
    });
    procs.push(apiserver);
    const caPath = join(certDir, 'apiserver.crt');
    const apiserverReady = (p: Proc): Promise<void> =>
      waitFor(p, async () => {
        if (!existsSync(caPath)) return false;
        return (await httpsGet(`${apiserverUrl}/readyz`, { ca: await readFile(caPath), token })) === 200;
      });
    readiness.set('kube-apiserver', apiserverReady);
    await apiserverReady(apiserver);
    log(`kube-apiserver ready at ${apiserverUrl}`);

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml({ server: apiserverUrl, caPath, token }), { mode: 0o600 });

    // kube-controller-manager: namespace deletion, garbage collection, deployments.
    const cm = startProcess({
      name: 'kube-controller-manager',
      bin: bins.controllerManager,
      logDir,
      args: [
        `--kubeconfig=${kubeconfigPath}`,
        '--secure-port=0',
        '--leader-elect=false',
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${caPath}`,
        '--use-service-account-credentials=false',
        // With a node, the node-lifecycle controller removes the kubelet's not-ready taint.
        `--controllers=*,-node-ipam-controller,${options.node ? '' : '-node-lifecycle-controller,'}-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller,-persistentvolume-attach-detach-controller,-persistentvolume-expander-controller,-ephemeral-volume-controller,-endpointslice-mirroring-controller`,
        '--concurrent-gc-syncs=10',
        '--concurrent-namespace-syncs=10',
        '--v=1',
      ],
    });
    procs.push(cm);
    if (vgw) {
      await waitFor(vgw, () => fetch(s3.endpoint).then((r) => r.status > 0));
      log(`S3 server (versitygw) ready at ${s3.endpoint}`);
    } else {
      log(`S3 server shared with another ground: ${s3.endpoint}`);
    }

    // The controller-manager has no health port here (--secure-port=0); it is proved by the
    // namespace-deletion test. Make sure it did not die at start-up.
    await new Promise((r) => setTimeout(r, 500));
    if (cm.child.exitCode !== null) {
      throw new Error(`kube-controller-manager exited during start-up:\n${await tail(cm.logPath)}`);
    }

    readiness.set('versitygw', (p) => waitFor(p, () => fetch(s3.endpoint).then((r) => r.status > 0)));
    readiness.set('etcd', (p) => waitFor(p, () => httpOk(`${etcdUrl}/health`)));

    // lifeboat's own CRDs (PodVolumeBackup, PodVolumeRestore), as deploy/crds/ installs them.
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    await installCrds(kc, join(here, '..', '..', 'deploy', 'crds'));

    const info: GroundInfo = { kubeconfigPath, apiserverUrl, etcdUrl, s3, workDir };
    if (node) info.node = await node.join(kubeconfigPath);
    if (info.node && csiBins) {
      const { name: nodeName, kubeletRootDir } = info.node;
      const csi = await startCsi({
        kubeconfigPath,
        kubeletRootDir,
        nodeName,
        dir,
        logDir,
        log,
        bins: csiBins,
      });
      stoppers.push(() => csi.stop());
      info.csi = csi.info;
    }
    if (options.forge) {
      const forgeDir = join(dir, 'gitea');
      const forge = await startForge({ dir: forgeDir, log });
      stoppers.push(() => forge.stop());
      info.forge = forge.info;
    }
    // Anything else a caller wants up once the node (and its storage) is ready.
    for (const start of options.starters ?? []) {
      const started = await start({ info, dir, logDir, log });
      stoppers.push(() => started.stop());
    }
    const find = (component: GroundComponent): Proc => {
      const p = procs.find((x) => x.name === component);
      if (!p) throw new Error(`no ${component} in this ground`);
      return p;
    };
    return {
      info,
      stop,
      signal: (component, signal) => {
        find(component).child.kill(signal);
      },
      restart: async (component) => {
        const old = find(component);
        old.child.kill('SIGCONT');
        await stopProcess(old);
        const fresh = startProcess(old.spec);
        procs[procs.indexOf(old)] = fresh;
        await readiness.get(component)?.(fresh);
      },
    };
  } catch (err) {
    await stop().catch((stopErr: unknown) =>
      log(`stopping after a failed start: ${(stopErr as Error).message}`),
    );
    throw err;
  }
}
