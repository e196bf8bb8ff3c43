// The ground's CSI storage: our own driver (test/ground/csi-driver: volumes are directories,
// snapshots are copies) with the real sidecars — csi-provisioner, csi-snapshotter and the
// snapshot-controller — all out of cluster with the ground's kubeconfig, plus the snapshot CRDs,
// a CSIDriver, a StorageClass and a VolumeSnapshotClass. Built by scripts/build-csi.sh.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubeConfig,
  StorageV1Api,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { CsiInfo } from './context.js';
import { startProcess, stopProcess, tail, waitFor, type Proc } from './process.js';

const here = dirname(fileURLToPath(import.meta.url));
const versions = JSON.parse(readFileSync(join(here, 'versions.json'), 'utf8')) as {
  csiProvisioner: string;
  csiSnapshotter: string;
};

export const CSI_DRIVER = 'csi.ground.lifeboat.dev';
export const CSI_STORAGE_CLASS = 'ground-csi';
export const CSI_SNAPSHOT_CLASS = 'ground-csi';

export interface CsiBinaries {
  driver: string;
  provisioner: string;
  snapshotter: string;
  snapshotController: string;
  /** The snapshot CRDs' YAML files. */
  crdDir: string;
}

/**
 * The driver's cache key, as scripts/build-csi.sh computes it: sha256 over the lines
 * "<sha256 of file>  <name>\n" of its Go sources, go.mod and go.sum in byte order of names.
 */
export function csiDriverHash(sourceDir = join(here, 'csi-driver')): string {
  const names = readdirSync(sourceDir)
    .filter((n) => !n.startsWith('.') && (n.endsWith('.go') || n === 'go.mod' || n === 'go.sum'))
    .sort();
  const lines = names
    .map(
      (n) =>
        `${createHash('sha256')
          .update(readFileSync(join(sourceDir, n)))
          .digest('hex')}  ${n}\n`,
    )
    .join('');
  return createHash('sha256').update(lines).digest('hex').slice(0, 16);
}

/** Paths of the cached CSI builds; fails with the reason when one is missing or stale. */
export function csiBinaries(
  cacheDir = process.env.LIFEBOAT_CACHE ?? join(homedir(), '.cache', 'lifeboat'),
): CsiBinaries {
  const snap = join(cacheDir, 'csi-snapshotter', versions.csiSnapshotter);
  const bins = {
    driver: join(cacheDir, 'csi-driver', csiDriverHash(), 'ground-csi-driver'),
    provisioner: join(cacheDir, 'csi-provisioner', versions.csiProvisioner, 'csi-provisioner'),
    snapshotter: join(snap, 'csi-snapshotter'),
    snapshotController: join(snap, 'snapshot-controller'),
    crdDir: join(snap, 'crd'),
  };
  const missing = Object.values(bins).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `test ground CSI builds missing (or the driver's sources changed): ${missing.join(', ')}. ` +
        "Run 'bash scripts/build-ground.sh'.",
    );
  }
  return bins;
}

export interface CsiOptions {
  kubeconfigPath: string;
  /** The kubelet's --root-dir: the driver registers in plugins_registry/ and listens in plugins/. */
  kubeletRootDir: string;
  nodeName: string;
  /** The driver's state (volumes, snapshots) goes to <dir>/csi. */
  dir: string;
  logDir: string;
  log: (line: string) => void;
  bins?: CsiBinaries;
}

export interface GroundCsi {
  info: CsiInfo;
  stop(): Promise<void>;
}

function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

async function createIgnoringExisting(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Create the CRDs of a directory's YAML files and wait until the apiserver serves them. */
export async function installCrds(kc: KubeConfig, crdDir: string): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const files = (await readdir(crdDir)).filter((f) => f.endsWith('.yaml')).sort();
  const names: string[] = [];
  for (const f of files) {
    const crd = parse(await readFile(join(crdDir, f), 'utf8')) as V1CustomResourceDefinition;
    names.push(crd.metadata?.name ?? f);
    await createIgnoringExisting(() => api.createCustomResourceDefinition({ body: crd }));
  }
  const deadline = Date.now() + 60_000;
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not established in 60s`);
      await sleep(200);
    }
  }
}

async function createClasses(kc: KubeConfig): Promise<void> {
  const storage = kc.makeApiClient(StorageV1Api);
  await createIgnoringExisting(() =>
    storage.createCSIDriver({
      body: {
        metadata: { name: CSI_DRIVER },
        spec: {
          // The ground runs no attach-detach controller; bind mounts need no attach anyway.
          attachRequired: false,
          podInfoOnMount: false,
          // The kubelet applies a pod's fsGroup to the volume, as with most real drivers.
          fsGroupPolicy: 'File',
          volumeLifecycleModes: ['Persistent'],
        },
      },
    }),
  );
  await createIgnoringExisting(() =>
    storage.createStorageClass({
      body: {
        metadata: { name: CSI_STORAGE_CLASS },
        provisioner: CSI_DRIVER,
        reclaimPolicy: 'Delete',
        // One node: nothing to wait for. Not the default class, so PVCs other tests create
        // without a class (restores of archives, for instance) stay as they were written.
        volumeBindingMode: 'Immediate',
      },
    }),
  );
  await createIgnoringExisting(() =>
    kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      plural: 'volumesnapshotclasses',
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: {
          name: CSI_SNAPSHOT_CLASS,
          // Velero's CSI support picks the class with this label for the driver.
          labels: { 'velero.io/csi-volumesnapshot-class': 'true' },
          annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
        },
        driver: CSI_DRIVER,
        deletionPolicy: 'Delete',
      },
    }),
  );
}

export async function startCsi(opts: CsiOptions): Promise<GroundCsi> {
  const bins = opts.bins ?? csiBinaries();
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfigPath);
  const stateDir = join(opts.dir, 'csi');
  const socket = join(opts.kubeletRootDir, 'plugins', CSI_DRIVER, 'csi.sock');
  await mkdir(stateDir, { recursive: true });
  const procs: Proc[] = [];
  const stop = async (): Promise<void> => {
    // Sidecars first, the driver last: on SIGTERM it removes its registration socket, and the
    // kubelet drops it from the CSINode.
    for (const p of [...procs].reverse()) await stopProcess(p);
  };

  try {
    await installCrds(kc, bins.crdDir);
    await createClasses(kc);

    const driver = startProcess({
      name: 'csi-driver',
      bin: bins.driver,
      logDir: opts.logDir,
      args: [
        `-endpoint=${socket}`,
        `-state-dir=${stateDir}`,
        `-node-id=${opts.nodeName}`,
        `-registration-dir=${join(opts.kubeletRootDir, 'plugins_registry')}`,
      ],
    });
    procs.push(driver);
    const common = [`--kubeconfig=${opts.kubeconfigPath}`, '--leader-election=false', '--v=2'];
    const sidecarArgs = [
      `--csi-address=${socket}`,
      ...common,
      // Pass the PVC's / VolumeSnapshot's name and namespace to the driver (it records nothing
      // of them today, but tests of the data mover may want to see them in the driver's log).
      '--extra-create-metadata',
      // Copies take a while on two busy cores.
      '--timeout=120s',
    ];
    procs.push(
      startProcess({
        name: 'csi-provisioner',
        bin: bins.provisioner,
        logDir: opts.logDir,
        args: sidecarArgs,
      }),
      startProcess({
        name: 'csi-snapshotter',
        bin: bins.snapshotter,
        logDir: opts.logDir,
        args: sidecarArgs,
      }),
      startProcess({
        name: 'snapshot-controller',
        bin: bins.snapshotController,
        logDir: opts.logDir,
        args: common,
      }),
    );

    // Registered: the kubelet asked the driver (NodeGetInfo) and wrote it into the CSINode.
    const storage = kc.makeApiClient(StorageV1Api);
    await waitFor(driver, async () => {
      const csiNode = await storage.readCSINode({ name: opts.nodeName });
      return (csiNode.spec.drivers ?? []).some((d) => d.name === CSI_DRIVER);
    });
    await sleep(500);
    for (const p of procs) {
      if (p.child.exitCode !== null)
        throw new Error(`${p.name} exited during start-up:\n${await tail(p.logPath)}`);
    }
    opts.log(
      `CSI driver ${CSI_DRIVER} registered on node ${opts.nodeName}, with provisioner and snapshotter`,
    );
    return {
      info: {
        driver: CSI_DRIVER,
        storageClass: CSI_STORAGE_CLASS,
        snapshotClass: CSI_SNAPSHOT_CLASS,
        stateDir,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
