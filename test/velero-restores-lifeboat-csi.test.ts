// Velero restoring a lifeboat CSI backup (issue 12): lifeboat backs up a namespace whose claim
// holds known data (a CSI snapshot, in Velero's layout) to the bucket of a real Velero v1.18
// (out of cluster, EnableCSI); Velero syncs the backup; the namespace is deleted; `velero restore
// create --from-backup` brings it back, and a new pod reads the same sha256 of every file.
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import { KubeClient } from '../src/kube/client.js';
import { S3Store } from '../src/storage/s3-store.js';
import { CLAIM_CHECKSUMS, createClaim, runClaimPod, WRITE_KNOWN_DATA } from './fixtures/claim-pods.js';
import { deleteNamespaces, uniqueName } from './fixtures/restore-fixtures.js';
import { ground, kubeConfig, newBucket, newNamespace, tempDir } from './ground/world.js';
import { locationStatus, startVelero, type Velero } from './ground/velero.js';

const PREFIX = 'lifeboat-csi';
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
  velero = await startVelero({
    kubeconfigPath: g.kubeconfigPath,
    s3: g.s3,
    dir: await tempDir('velero-lb-csi-'),
    syncPeriod: '5s',
    serverArgs: ['--features=EnableCSI'],
  });
  const bucket = await newBucket('velero-lb-csi');
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

describe('a lifeboat CSI backup restored by Velero', () => {
  it(
    'brings the claim back from its snapshot with the same data',
    async () => {
      const ns = await newNamespace('lb-velero-csi');
      await createClaim(core, ns, 'data');
      const written = await runClaimPod(core, {
        namespace: ns,
        name: 'writer',
        claim: 'data',
        script: WRITE_KNOWN_DATA,
      });
      expect(written.split('\n').filter((l) => /^[0-9a-f]{64} /.test(l))).toHaveLength(41);

      const name = uniqueName('lb-csi');
      const made = await runBackup({ name, spec: { includedNamespaces: [ns] } }, { kube, store });
      expect(made.phase, JSON.stringify(made.errors)).toBe('Completed');
      expect(made.volumes).toEqual([
        expect.objectContaining({ namespace: ns, claim: 'data', method: 'CSISnapshot', result: 'succeeded' }),
      ]);
      await velero.waitFor('backups', name, (o) => (o.status as { phase?: string })?.phase === 'Completed');
      await deleteNamespaces(kube, [ns]);

      const restoreName = uniqueName('velero-csi-restore');
      const restored = await velero.cli(['restore', 'create', restoreName, '--from-backup', name, '--wait']);
      expect(restored.code, restored.stderr).toBe(0);
      const restore = await velero.waitFor(
        'restores',
        restoreName,
        (o) =>
          !['New', 'InProgress', 'WaitingForPluginOperations', 'Finalizing', undefined].includes(
            (o.status as { phase?: string })?.phase,
          ),
      );
      const status = restore.status as { phase?: string; errors?: number };
      const details =
        status.phase === 'Completed'
          ? ''
          : (await velero.cli(['restore', 'describe', restoreName, '--details', '--colorized=false']))
              .stdout + (await velero.cli(['restore', 'logs', restoreName])).stdout;
      expect(status.phase, `${JSON.stringify(status)}\n${details}`).toBe('Completed');
      expect(
        await runClaimPod(core, { namespace: ns, name: 'reader', claim: 'data', script: CLAIM_CHECKSUMS }),
      ).toBe(written);
      await deleteNamespaces(kube, [ns]);
    },
    LONG,
  );
});
