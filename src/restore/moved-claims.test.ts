import { describe, expect, it } from 'vitest';
import type { FsVolumeRecord } from '../volumes/podvolumebackups-file.js';
import { asFreshClaim, movedClaimsOf, movedCopyOf } from './moved-claims.js';

const record = (o: Partial<FsVolumeRecord>): FsVolumeRecord => ({
  namespace: 'shop',
  pod: 'db-0',
  volume: 'data',
  snapshotId: 's1',
  files: 3,
  dirs: 1,
  bytes: 100,
  ...o,
});

describe('movedClaimsOf', () => {
  it('keeps only the copies of moved snapshots, by the claim they stand for', () => {
    const records = new Map([
      ['shop/db-0', [record({})]],
      [
        'shop/lifeboat-move-1',
        [record({ pod: 'lifeboat-move-1', sourceClaim: 'data-db-0', snapshotId: 's2' })],
      ],
    ]);
    expect([...movedClaimsOf(records)]).toEqual([
      ['shop/data-db-0', { sourceNamespace: 'shop', snapshotId: 's2', files: 3, dirs: 1, bytes: 100 }],
    ]);
  });
});

describe('movedCopyOf', () => {
  it('looks a claim up by its namespace in the backup', () => {
    const moved = movedClaimsOf(new Map([['shop/p', [record({ sourceClaim: 'data' })]]]));
    const claim = (namespace: string) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { namespace, name: 'data' },
    });
    expect(movedCopyOf(claim('shop'), moved)?.snapshotId).toBe('s1');
    expect(movedCopyOf(claim('other'), moved)).toBeUndefined();
    expect(movedCopyOf(claim('shop'), undefined)).toBeUndefined();
  });
});

describe('asFreshClaim', () => {
  it('drops the old volume and any data source, keeping the rest of the spec', () => {
    const fresh = asFreshClaim({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: {
        volumeName: 'pv-old',
        dataSource: { kind: 'VolumeSnapshot', name: 'x' },
        dataSourceRef: { kind: 'VolumeSnapshot', name: 'x' },
        storageClassName: 'fast',
        resources: { requests: { storage: '1Gi' } },
      },
    });
    expect(fresh.spec).toEqual({ storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } });
  });
});
