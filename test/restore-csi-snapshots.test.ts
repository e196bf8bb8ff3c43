// Volume data back from a real Velero CSI backup (issue 12, restore side): the real Velero
// v1.18 (out of cluster, EnableCSI) snapshots a ground-csi claim through the ground's real
// snapshot-controller, csi-snapshotter and CSI driver; the namespace is deleted; lifeboat
// plans and applies the restore from Velero's bucket layout (the archive and its CSI side
// files); a new pod reads the same sha256. Then once more into a mapped namespace.
import { CoreV1Api } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/types.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { restoredSnapshotName } from '../src/restore/csi-restore.js';
import { renderPlanMarkdown } from '../src/restore/plan-render.js';
import { readCsiFiles, snapshotsByClaim } from '../src/restore/csi-snapshots.js';
import { S3Store } from '../src/storage/s3-store.js';
import { deleteNamespaces, uniqueName } from './fixtures/restore-fixtures.js';
import { CLAIM_CHECKSUMS, runClaimPod, WRITE_KNOWN_DATA, createClaim } from './fixtures/claim-pods.js';
import { ground, kubeConfig, newBucket, newNamespace, tempDir } from './ground/world.js';
import { locationStatus, startVelero, type Velero } from './ground/velero.js';

const PREFIX = 'csi';
const LOCATION = 'default';
const LONG = 900_000;

let velero: Velero;
let kube: KubeClient;
let core: CoreV1Api;
let store: S3Store;

beforeAll(async () => {
  const g = ground();
  if (!g.node || !g.csi)
    throw new Error('the test ground has no node or no CSI storage (global-setup node: true)');
  kube = await KubeClient.create({ kubeconfig: g.kubeconfigPath });
  core = kubeConfig().makeApiClient(CoreV1Api);
  // CSI snapshots are built into Velero since 1.14, and still behind its EnableCSI flag in 1.18.
  velero = await startVelero({
    kubeconfigPath: g.kubeconfigPath,
    s3: g.s3,
    dir: await tempDir('velero-csi-'),
    serverArgs: ['--features=EnableCSI'],
  });
  const bucket = await newBucket('velero-csi');
  store = new S3Store({
    bucket,
    prefix: PREFIX,
    endpoint: g.s3.endpoint,
    region: g.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: g.s3.accessKeyId, secretAccessKey: g.s3.secretAccessKey },
  });
  await velero.addLocation({ name: LOCATION, bucket, prefix: PREFIX, default: true });
  await velero.waitFor('backupstoragelocations', LOCATION, (o) => locationStatus(o).phase === 'Available');
}, LONG);

afterAll(async () => {
  await velero?.stop();
  kube?.close();
});

/** Runs a pod with the claim at /data to completion and returns what it printed. */
const runPod = (namespace: string, name: string, claim: string, script: string): Promise<string> =>
  runClaimPod(core, { namespace, name, claim, script });

async function snapshotObjects(
  resource: 'volumesnapshots' | 'volumesnapshotcontents',
): Promise<KubeObject[]> {
  const res = await kube.request<{ items: KubeObject[] }>({
    method: 'GET',
    path: `/apis/snapshot.storage.k8s.io/v1/${resource}`,
  });
  return res.items;
}

describe('a claim in a real Velero CSI backup', () => {
  it(
    'comes back with its data through lifeboat, in its namespace and in a mapped one',
    async () => {
      const csi = ground().csi;
      if (!csi) throw new Error('no CSI storage');
      const ns = await newNamespace('csi-shop');
      await createClaim(core, ns, 'data');
      // A few MB of random bytes and some small files; the sums are what must come back.
      const written = await runPod(ns, 'writer', 'data', WRITE_KNOWN_DATA);
      expect(written.split('\n').filter((l) => /^[0-9a-f]{64} /.test(l))).toHaveLength(41);

      const backupName = uniqueName('velero-csi');
      const made = await velero.cli([
        ...['backup', 'create', backupName, '--include-namespaces', ns],
        ...['--storage-location', LOCATION, '--snapshot-volumes', '--wait'],
      ]);
      expect(made.code, made.stderr).toBe(0);
      const backup = await velero.waitFor(
        'backups',
        backupName,
        (o) =>
          !['New', 'InProgress', 'WaitingForPluginOperations', 'Finalizing'].includes(
            (o.status as { phase?: string })?.phase ?? 'New',
          ),
      );
      expect(backup.status, JSON.stringify(backup.status)).toMatchObject({ phase: 'Completed' });

      // Velero's CSI layout: the side files name the snapshot of the claim, with its handle.
      const files = await readCsiFiles(store, backupName);
      const snap = snapshotsByClaim(files).get(`${ns}/data`);
      expect(snap?.snapshotHandle, JSON.stringify(files)).toBeTruthy();
      expect(snap?.driver).toBe(csi.driver);
      const snapshotDir = join(csi.stateDir, 'snapshots', snap?.snapshotHandle ?? '?');
      expect(existsSync(snapshotDir)).toBe(true);

      await deleteNamespaces(kube, [ns]);

      const restoreOnce = async (restoreName: string, target: string, mapping?: Record<string, string>) => {
        const req = {
          name: restoreName,
          spec: { backupName, ...(mapping ? { namespaceMapping: mapping } : {}) },
        };
        const deps = { kube, store, volumeBindTimeoutMs: 300_000 };
        const { plan } = await planRestore(req, deps);
        expect(plan.volumes).toEqual([
          {
            namespace: target,
            claim: 'data',
            size: '64Mi',
            storageClass: csi.storageClass,
            snapshot: {
              volumeSnapshot: `${ns}/${snap?.volumeSnapshot ?? '?'}`,
              handle: snap?.snapshotHandle,
              driver: csi.driver,
              restoreSize: snap?.restoreSize,
              restoredAs: restoredSnapshotName(restoreName, ns, snap?.volumeSnapshot ?? '?'),
            },
            action: 'create-from-snapshot',
          },
        ]);
        // The claim's old volume is not restored: the provisioner makes a new one from the snapshot.
        expect(
          plan.items.filter((i) => i.groupResource === 'persistentvolumes').map((i) => i.action),
        ).not.toContain('create');
        const claim = plan.items.find((i) => i.groupResource === 'persistentvolumeclaims');
        expect(claim, JSON.stringify(plan.items, null, 1)).toMatchObject({
          namespace: target,
          name: 'data',
          action: 'create',
        });
        const result = await applyRestore(req, deps, { approvedHash: plan.hash });
        expect(
          result.items.filter((i) => i.result === 'failed'),
          JSON.stringify(result.items, null, 1),
        ).toEqual([]);
        const vsName = restoredSnapshotName(restoreName, ns, snap?.volumeSnapshot ?? '?');
        expect(result.items).toContainEqual(
          expect.objectContaining({
            groupResource: 'volumesnapshots.snapshot.storage.k8s.io',
            namespace: target,
            name: vsName,
            result: 'created',
          }),
        );
        const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: target });
        expect(pvc.status?.phase).toBe('Bound');
        expect(pvc.spec?.dataSource).toMatchObject({ kind: 'VolumeSnapshot', name: vsName });
        expect(await runPod(target, 'reader', 'data', CLAIM_CHECKSUMS)).toBe(written);
        // The temporary snapshot objects are gone; the backup's snapshot is not.
        expect((await snapshotObjects('volumesnapshots')).map((o) => o.metadata.name)).not.toContain(vsName);
        expect((await snapshotObjects('volumesnapshotcontents')).map((o) => o.metadata.name)).not.toContain(
          vsName,
        );
        expect(existsSync(snapshotDir)).toBe(true);
      };

      // restorePVs false keeps Velero's meaning: no snapshot objects, a new empty volume.
      const { plan: noPvs } = await planRestore(
        { name: uniqueName('csi-nopv'), spec: { backupName, restorePVs: false } },
        { kube, store },
      );
      expect(noPvs.volumes).toEqual([
        expect.objectContaining({
          claim: 'data',
          action: 'create',
          reason: 'restorePVs is false: a new, empty volume',
        }),
      ]);
      expect(
        noPvs.items
          .filter(
            (i) =>
              i.groupResource.startsWith('volumesnapshots') ||
              i.groupResource.startsWith('volumesnapshotcontents'),
          )
          .map((i) => [i.action, i.reason]),
      ).toEqual([
        ['skip', 'restorePVs is false: no volume is restored from a snapshot'],
        ['skip', 'restorePVs is false: no volume is restored from a snapshot'],
      ]);

      await restoreOnce(uniqueName('csi-back'), ns);
      // Planned again, the claim exists: its volume is left as it is, and the Markdown says so.
      const { plan: again } = await planRestore(
        { name: uniqueName('csi-again'), spec: { backupName } },
        { kube, store },
      );
      expect(again.volumes).toEqual([
        expect.objectContaining({
          namespace: ns,
          claim: 'data',
          action: 'skip',
          reason: 'the claim exists; its volume is left as it is',
        }),
      ]);
      const markdown = renderPlanMarkdown(again);
      expect(markdown).toContain('## Volumes (1)');
      expect(markdown).toMatch(
        new RegExp(
          `\\| \`${ns}/data\` \\| 64Mi \\| \`ground-csi\` \\| \`${ns}/\\S+\` \\(handle \`${snap?.snapshotHandle ?? '?'}\``,
        ),
      );
      const mapped = uniqueName('csi-copy');
      await restoreOnce(uniqueName('csi-mapped'), mapped, { [ns]: mapped });
      await deleteNamespaces(kube, [ns, mapped]);

      // The snapshot is lost on the storage side (as when someone deletes it in a cloud
      // console): the driver no longer has it, and the plan says the claim cannot come back.
      await rm(snapshotDir, { recursive: true, force: true });
      const { plan: stale } = await planRestore(
        { name: uniqueName('csi-gone'), spec: { backupName } },
        { kube, store },
      );
      expect(stale.volumes?.[0]).toMatchObject({ claim: 'data', action: 'invalid' });
      expect(stale.volumes?.[0]?.reason).toMatch(
        new RegExp(
          `its CSI snapshot ${ns}/\\S+ \\(handle ${snap?.snapshotHandle ?? '?'}\\) no longer exists: driver ${csi.driver.replace(/\./g, '\\.')}: `,
        ),
      );
      expect(stale.items.find((i) => i.groupResource === 'persistentvolumeclaims')?.action).toBe('invalid');
      const probes = (await snapshotObjects('volumesnapshotcontents')).filter((o) =>
        o.metadata.name?.startsWith('lifeboat-probe-'),
      );
      expect(probes).toEqual([]);
    },
    LONG,
  );
});
