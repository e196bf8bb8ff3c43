// Hooks around a real CSI snapshot (issue 14): a pod's pre hook writes a marker to its
// ground-csi claim and syncs; the backup snapshots the claim; the post hook removes the marker.
// The live volume no longer has the marker, and the volume restored from the snapshot does: the
// snapshot holds the state as of the pre hook, not the state after the post hook.
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { BackupStore } from '../src/storage/store.js';
import { groundKube, localStore } from './fixtures/backups.js';
import { createClaim } from './fixtures/claim-pods.js';
import { busyboxContainer, readyPod, startPod } from './fixtures/pods.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import { ground, kubeConfig, newNamespace, uniqueName } from './ground/world.js';

const LONG = 900_000;
let kube: KubeClient;
let store: BackupStore;

beforeAll(async () => {
  if (!ground().csi) throw new Error('the test ground has no CSI storage (global-setup node: true)');
  kube = await groundKube();
  store = await localStore('hooks-csi-');
});
afterAll(() => kube?.close());

async function cat(namespace: string, pod: string, path: string): Promise<string> {
  const r = await kube.exec({ namespace, pod, container: 'main', command: ['cat', path], timeoutMs: 60_000 });
  return r.exitCode === 0 ? r.stdout : `<missing: ${r.stderr.trim()}>`;
}

describe('backup hooks around a CSI snapshot', () => {
  it(
    'the snapshot holds what the pre hook wrote; the post hook ran after it',
    async () => {
      const core = kubeConfig().makeApiClient(CoreV1Api);
      const ns = await newNamespace('hooks-csi');
      await createClaim(core, ns, 'data');
      await startPod(ns, {
        metadata: {
          name: 'db',
          annotations: {
            'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo frozen > /data/marker; sync"]',
            'post.hook.backup.velero.io/command': '["/bin/sh","-c","rm /data/marker"]',
          },
        },
        spec: {
          containers: [{ ...busyboxContainer('main'), volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        },
      });
      const backupName = uniqueName('hooks-csi');
      const result = await runBackup(
        { name: backupName, spec: { includedNamespaces: [ns] } },
        { kube, store },
      );
      expect(result.phase, JSON.stringify(result.errors)).toBe('Completed');
      expect(result.volumes).toEqual([
        expect.objectContaining({ claim: 'data', result: 'succeeded', pod: 'db' }),
      ]);
      expect(result.hooks?.map((h) => [h.phase, h.pod, h.exitCode])).toEqual([
        ['pre', `${ns}/db`, 0],
        ['post', `${ns}/db`, 0],
      ]);
      // The post hook ran: the live volume has no marker.
      expect(await cat(ns, 'db', '/data/marker')).toMatch(/^<missing/);

      const mapped = uniqueName('hooks-csi-copy');
      const req = { name: uniqueName('hooks-csi'), spec: { backupName, namespaceMapping: { [ns]: mapped } } };
      const deps = { kube, store, volumeBindTimeoutMs: 300_000 };
      const { plan } = await planRestore(req, deps);
      const restored = await applyRestore(req, deps, { approvedHash: plan.hash });
      expect(restored.items.filter((i) => i.result === 'failed')).toEqual([]);
      await readyPod(mapped, 'db', 300_000);
      // The volume restored from the snapshot has the marker as the pre hook left it.
      expect(await cat(mapped, 'db', '/data/marker')).toBe('frozen\n');
      await deleteNamespaces(kube, [ns, mapped]);
    },
    LONG,
  );
});
