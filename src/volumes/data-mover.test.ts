import { describe, expect, it } from 'vitest';
import type { ClaimRecord } from './collect.js';
import { temporaryClaim } from './data-mover.js';

const claim: ClaimRecord = {
  namespace: 'shop',
  name: 'data',
  uid: 'u1',
  volumeName: 'pv-1',
  storageClass: 'fast',
  size: '5Gi',
  phase: 'Bound',
  labels: { app: 'db' },
  annotations: {},
};

describe('temporaryClaim', () => {
  it("is made from the snapshot, in the claim's namespace, with its class and size", () => {
    const made = temporaryClaim({
      claim,
      name: 'lifeboat-move-1',
      volumeSnapshot: 'lifeboat-data-x',
      restoreSize: 1024,
      labels: { 'lifeboat.dev/data-mover': 'backup' },
    });
    expect(made.metadata).toEqual({
      name: 'lifeboat-move-1',
      namespace: 'shop',
      labels: { 'lifeboat.dev/data-mover': 'backup' },
      annotations: { 'lifeboat.dev/source-claim': 'data' },
    });
    expect(made.spec).toEqual({
      storageClassName: 'fast',
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '5Gi' } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'lifeboat-data-x' },
    });
  });

  it("takes the snapshot's restore size when the claim asked for none, and the default class when it named none", () => {
    const { size: _size, storageClass: _class, ...bare } = claim;
    const made = temporaryClaim({
      claim: bare,
      name: 'n',
      volumeSnapshot: 's',
      restoreSize: 2048,
      labels: {},
    });
    expect(made.spec).toMatchObject({ resources: { requests: { storage: '2048' } } });
    expect(made.spec).not.toHaveProperty('storageClassName');
    expect(() =>
      temporaryClaim({ claim: bare, name: 'n', volumeSnapshot: 's', restoreSize: 0, labels: {} }),
    ).toThrow('claim shop/data has no requested size and its snapshot no restore size');
  });
});
