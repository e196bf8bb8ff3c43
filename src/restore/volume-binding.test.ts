import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { claimBinding, rebindPatch, staleClaimUid, type VolumeFacts } from './volume-binding.js';

function claim(spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'shop' },
    spec: { accessModes: ['ReadWriteOnce'], ...spec },
  };
}

function pv(claimRef?: Record<string, unknown>, phase = 'Available'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-1' },
    spec: { capacity: { storage: '1Gi' }, ...(claimRef ? { claimRef } : {}) },
    status: { phase },
  };
}

interface Expected {
  keep: boolean;
  text: RegExp;
  kind: 'note' | 'warning';
}

const none: VolumeFacts = { restoredVolumes: new Set(), skippedVolumes: new Map() };

describe('claimBinding', () => {
  it('leaves a claim without volumeName alone', () => {
    expect(claimBinding(claim({ storageClassName: 'fast' }), null, none)).toEqual({ keepVolumeName: false });
  });

  it.each<[string, KubeObject | null, VolumeFacts, Expected]>([
    [
      'its Released volume survives',
      pv({ namespace: 'shop', name: 'data', uid: 'old' }, 'Released'),
      none,
      { keep: true, text: /binds again to its surviving volume pv-1/, kind: 'note' },
    ],
    [
      'its volume waits for it',
      pv({ namespace: 'shop', name: 'data' }),
      none,
      { keep: true, text: /keeps for this claim/, kind: 'note' },
    ],
    ['its volume is Available', pv(), none, { keep: true, text: /Available in the cluster/, kind: 'note' }],
    [
      'its volume belongs to another claim',
      pv({ namespace: 'other', name: 'x', uid: 'u' }, 'Bound'),
      none,
      { keep: true, text: /belongs to claim other\/x: this claim stays Pending/, kind: 'warning' },
    ],
    [
      'its volume comes from the backup',
      null,
      { restoredVolumes: new Set(['pv-1']), skippedVolumes: new Map() },
      { keep: true, text: /restored from the backup/, kind: 'note' },
    ],
    [
      'its Delete volume is skipped',
      null,
      { restoredVolumes: new Set(), skippedVolumes: new Map([['pv-1', 'reclaim policy Delete']]) },
      {
        keep: false,
        text: /not restored \(reclaim policy Delete\): storage class fast provisions a new, empty volume/,
        kind: 'warning',
      },
    ],
  ])('when %s', (_label, live, facts, expected) => {
    const binding = claimBinding(claim({ volumeName: 'pv-1', storageClassName: 'fast' }), live, facts);
    expect(binding.keepVolumeName).toBe(expected.keep);
    expect(binding[expected.kind]).toMatch(expected.text);
  });

  it('keeps volumeName and waits when the volume is gone and no class can provision one', () => {
    const binding = claimBinding(claim({ volumeName: 'pv-1', storageClassName: '' }), null, none);
    expect(binding).toEqual({
      keepVolumeName: true,
      warning: expect.stringMatching(/stays Pending until a volume pv-1 exists/),
    });
  });
});

describe('staleClaimUid', () => {
  const desired = pv({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data' });
  const claims = new Set(['shop/data']);

  it('finds the UID of a Released volume reserved for a restored claim', () => {
    expect(
      staleClaimUid(desired, pv({ namespace: 'shop', name: 'data', uid: 'old' }, 'Released'), claims),
    ).toBe('old');
  });

  it.each<[string, KubeObject | null, Set<string>]>([
    ['no live volume', null, claims],
    ['a Bound volume', pv({ namespace: 'shop', name: 'data', uid: 'u' }, 'Bound'), claims],
    [
      'a volume released by another claim',
      pv({ namespace: 'shop', name: 'logs', uid: 'u' }, 'Released'),
      claims,
    ],
    [
      'a claim not in the restore',
      pv({ namespace: 'shop', name: 'data', uid: 'u' }, 'Released'),
      new Set<string>(),
    ],
  ])('finds none for %s', (_label, live, restored) => {
    expect(staleClaimUid(desired, live, restored)).toBeUndefined();
  });
});

describe('rebindPatch', () => {
  it('carries only claimRef, without UID and resourceVersion', () => {
    const desired = pv({
      kind: 'PersistentVolumeClaim',
      namespace: 'shop',
      name: 'data',
      uid: 'u',
      resourceVersion: '9',
    });
    expect(rebindPatch(desired)).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-1' },
      spec: { claimRef: { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data' } },
    });
  });
});
