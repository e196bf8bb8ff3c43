// Volume data round trip with lifeboat on both sides (issue 12): a pod writes known data to a
// ground-csi claim; lifeboat backs the namespace up (a CSI snapshot of the claim, in Velero's
// layout); the namespace is deleted; lifeboat plans and applies the restore; a new pod reads the
// same sha256 of every file. Then once more into a mapped namespace. Expiry of the backup then
// removes its snapshot objects.
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { BackupStore } from '../src/storage/store.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import { runClaimPod, WRITE_KNOWN_DATA, CLAIM_CHECKSUMS, createClaim } from './fixtures/claim-pods.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import { ground, kubeConfig, newBucket, newNamespace, uniqueName } from './ground/world.js';

const LONG = 900_000;
let kube: KubeClient;
let core: CoreV1Api;
let store: BackupStore;

beforeAll(async () => {
  const g = ground();
  if (!g.node || !g.csi)
    throw new Error('the test ground has no node or no CSI storage (global-setup node: true)');
  kube = await groundKube();
  core = kubeConfig().makeApiClient(CoreV1Api);
  store = s3Store(await newBucket('csi-round-trip'));
}, LONG);
afterAll(() => kube?.close());

describe('a CSI volume backed up and restored by lifeboat', () => {
  it(
    'comes back with the same data, in its namespace and in a mapped one',
    async () => {
      const csi = ground().csi;
      if (!csi) throw new Error('no CSI storage');
      const ns = await newNamespace('csi-rt');
      await createClaim(core, ns, 'data');
      const written = await runClaimPod(core, {
        namespace: ns,
        name: 'writer',
        claim: 'data',
        script: WRITE_KNOWN_DATA,
      });
      expect(written.split('\n').filter((l) => /^[0-9a-f]{64} /.test(l))).toHaveLength(41);

      const backupName = uniqueName('csi-rt');
      const backup = await runBackup(
        { name: backupName, spec: { includedNamespaces: [ns] } },
        { kube, store },
      );
      expect(backup.phase, JSON.stringify(backup.errors)).toBe('Completed');
      expect(backup.volumes).toEqual([
        expect.objectContaining({ namespace: ns, claim: 'data', method: 'CSISnapshot', result: 'succeeded' }),
      ]);
      await deleteNamespaces(kube, [ns]);

      const restoreInto = async (target: string, mapping?: Record<string, string>): Promise<void> => {
        const req = {
          name: uniqueName('csi-rt'),
          spec: { backupName, ...(mapping ? { namespaceMapping: mapping } : {}) },
        };
        const deps = { kube, store, volumeBindTimeoutMs: 300_000 };
        const { plan } = await planRestore(req, deps);
        expect(plan.volumes).toEqual([
          expect.objectContaining({
            namespace: target,
            claim: 'data',
            size: '64Mi',
            action: 'create-from-snapshot',
          }),
        ]);
        const result = await applyRestore(req, deps, { approvedHash: plan.hash });
        expect(
          result.items.filter((i) => i.result === 'failed'),
          JSON.stringify(result.items, null, 1),
        ).toEqual([]);
        expect(
          await runClaimPod(core, {
            namespace: target,
            name: 'reader',
            claim: 'data',
            script: CLAIM_CHECKSUMS,
          }),
        ).toBe(written);
      };
      await restoreInto(ns);
      const mapped = uniqueName('csi-rt-copy');
      await restoreInto(mapped, { [ns]: mapped });
      await deleteNamespaces(kube, [ns, mapped]);
    },
    LONG,
  );
});
