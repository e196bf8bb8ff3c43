import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirStore } from '../storage/local-store.js';
import { backupLayout } from '../storage/layout.js';
import { readCsiFiles, snapshotsByClaim } from './csi-snapshots.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-csi-files-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

// As Velero v1.18 writes them: typed Go objects, without apiVersion and kind.
const vs = {
  metadata: { name: 'velero-data-x7k2p', namespace: 'shop' },
  spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'ground-csi' },
  status: { boundVolumeSnapshotContentName: 'snapcontent-1234', readyToUse: true, restoreSize: '16Mi' },
};
const vsc = {
  metadata: { name: 'snapcontent-1234' },
  spec: {
    driver: 'csi.ground.lifeboat.dev',
    deletionPolicy: 'Retain',
    source: { volumeHandle: 'vol-1' },
    volumeSnapshotRef: { namespace: 'shop', name: 'velero-data-x7k2p' },
  },
  status: { snapshotHandle: 'snap-abc', readyToUse: true, restoreSize: 16777216 },
};
const info = {
  pvcName: 'data',
  pvcNamespace: 'shop',
  pvName: 'pvc-1',
  backupMethod: 'CSISnapshot',
  snapshotDataMoved: false,
  csiSnapshotInfo: {
    snapshotHandle: 'snap-abc',
    size: 16777216,
    driver: 'csi.ground.lifeboat.dev',
    vscName: 'snapcontent-1234',
  },
};

describe('readCsiFiles', () => {
  it('reads Velero side files and joins each snapshot to its claim and content', async () => {
    const store = new LocalDirStore({ root });
    await store.put(backupLayout.csiVolumeSnapshots('b'), gzipSync(JSON.stringify([vs])));
    await store.put(backupLayout.csiVolumeSnapshotContents('b'), gzipSync(JSON.stringify([vsc])));
    await store.put(backupLayout.volumeInfo('b'), gzipSync(JSON.stringify([info])));
    const files = await readCsiFiles(store, 'b');
    expect(files.volumeSnapshots[0]?.kind).toBe('VolumeSnapshot');
    expect(files.volumeSnapshotClasses).toEqual([]);
    expect(snapshotsByClaim(files).get('shop/data')).toEqual({
      namespace: 'shop',
      claim: 'data',
      volumeSnapshot: 'velero-data-x7k2p',
      content: 'snapcontent-1234',
      snapshotHandle: 'snap-abc',
      driver: 'csi.ground.lifeboat.dev',
      restoreSize: '16Mi',
    });
  });

  it('takes the handle from the volume info when the content is missing', async () => {
    const store = new LocalDirStore({ root });
    await store.put(backupLayout.csiVolumeSnapshots('b'), gzipSync(JSON.stringify([vs])));
    await store.put(backupLayout.volumeInfo('b'), gzipSync(JSON.stringify([info])));
    const snap = snapshotsByClaim(await readCsiFiles(store, 'b')).get('shop/data');
    expect(snap?.snapshotHandle).toBe('snap-abc');
    expect(snap?.driver).toBe('csi.ground.lifeboat.dev');
  });

  it('is empty for an object-only backup', async () => {
    const files = await readCsiFiles(new LocalDirStore({ root }), 'b');
    expect(snapshotsByClaim(files).size).toBe(0);
    expect(files.volumeInfos).toEqual([]);
  });

  it('names the file and the entry that is wrong', async () => {
    const store = new LocalDirStore({ root });
    await store.put(
      backupLayout.csiVolumeSnapshotContents('b'),
      gzipSync(JSON.stringify([vsc, { spec: {} }])),
    );
    await expect(readCsiFiles(store, 'b')).rejects.toThrow(
      /backups\/b\/b-csi-volumesnapshotcontents\.json\.gz: entry 1 is not a VolumeSnapshotContent with metadata\.name/,
    );
    await store.put(backupLayout.volumeInfo('b'), gzipSync('{"not":"a list"}'));
    await store.delete([backupLayout.csiVolumeSnapshotContents('b')]);
    await expect(readCsiFiles(store, 'b')).rejects.toThrow(/b-volumeinfo\.json\.gz: is not a JSON array/);
  });
});
