import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import {
  claimBinding,
  rebindPatch,
  staleClaimUid,
  takenVolumeReason,
  type VolumeFacts,
} from './volume-binding.js';

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

const none: VolumeFacts = { restoredVolumes: new Set(), skippedVolumes: new Map(), copiedVolumes: new Set() };
/** pv-1's claim was copied with restic by a pod's file-system backup. */
const copied: VolumeFacts = { ...none, copiedVolumes: new Set(['pv-1']) };

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
      {
        keep: false,
        text: /belongs to claim other\/x, which keeps it: storage class fast provisions a new, empty volume for claim shop\/data/,
        kind: 'warning',
      },
    ],
    [
      'its volume was Released by another claim',
      pv({ namespace: 'other', name: 'x', uid: 'u' }, 'Released'),
      none,
      { keep: false, text: /belongs to claim other\/x, which keeps it/, kind: 'warning' },
    ],
    [
      'its copied volume belongs to the original claim (a mapped namespace)',
      pv({ namespace: 'shop-original', name: 'data', uid: 'u' }, 'Bound'),
      copied,
      {
        keep: false,
        text: /file-system copy \(restic\): storage class fast provisions a new volume, which the restore fills from the copy; its volume pv-1 is not restored, and stays with claim shop-original\/data/,
        kind: 'note',
      },
    ],
    [
      'its copied volume survives Released for it',
      pv({ namespace: 'shop', name: 'data', uid: 'old' }, 'Released'),
      copied,
      {
        keep: false,
        text: /provisions a new volume, which the restore fills .* and is left as it is/,
        kind: 'note',
      },
    ],
    [
      'its copied volume is gone',
      null,
      { ...copied, skippedVolumes: new Map([['pv-1', 'reclaim policy Delete']]) },
      { keep: false, text: /fills from the copy; its volume pv-1 is not restored$/, kind: 'note' },
    ],
    [
      'its volume comes from the backup',
      null,
      { ...none, restoredVolumes: new Set(['pv-1']) },
      { keep: true, text: /restored from the backup/, kind: 'note' },
    ],
    [
      'its Delete volume is skipped',
      null,
      { ...none, skippedVolumes: new Map([['pv-1', 'reclaim policy Delete']]) },
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

  it.each<[string, KubeObject | null, VolumeFacts, RegExp]>([
    ['the volume is gone', null, none, /claim shop\/data stays Pending until a volume pv-1 exists/],
    ['a copied volume is gone', null, copied, /claim shop\/data stays Pending until a volume pv-1 exists/],
    [
      'the volume belongs to another claim',
      pv({ namespace: 'other', name: 'x', uid: 'u' }, 'Bound'),
      none,
      /belongs to claim other\/x, and without a storage class nothing provisions another: claim shop\/data stays Pending/,
    ],
    [
      'a copied volume belongs to another claim',
      pv({ namespace: 'other', name: 'x', uid: 'u' }, 'Bound'),
      copied,
      /belongs to claim other\/x, .* claim shop\/data stays Pending/,
    ],
  ])(
    'keeps volumeName and warns, naming the claim, when no class can provision and %s',
    (_l, live, facts, text) => {
      const binding = claimBinding(claim({ volumeName: 'pv-1', storageClassName: '' }), live, facts);
      expect(binding).toEqual({ keepVolumeName: true, warning: expect.stringMatching(text) });
    },
  );

  it('lets the default storage class provision a copied claim without storageClassName', () => {
    const binding = claimBinding(claim({ volumeName: 'pv-1' }), null, copied);
    expect(binding).toEqual({
      keepVolumeName: false,
      note: expect.stringMatching(/storage class \(the default\) provisions a new volume/),
    });
  });
});

describe('takenVolumeReason', () => {
  const desired = pv({ kind: 'PersistentVolumeClaim', namespace: 'shop-copy', name: 'data' });

  it('names the live claim a mapped restore would take the volume from', () => {
    expect(takenVolumeReason(desired, pv({ namespace: 'shop', name: 'data', uid: 'u' }, 'Bound'))).toBe(
      'it belongs to claim shop/data in the cluster: the restore does not take it from that claim',
    );
  });

  it.each<[string, KubeObject, KubeObject | null]>([
    ['no live volume', desired, null],
    [
      'a live volume of the same claim',
      desired,
      pv({ namespace: 'shop-copy', name: 'data', uid: 'u' }, 'Bound'),
    ],
    ['an Available live volume', desired, pv()],
    [
      'a backed-up volume bound to no claim',
      pv(),
      pv({ namespace: 'shop', name: 'data', uid: 'u' }, 'Bound'),
    ],
  ])('finds nothing taken for %s', (_l, wanted, live) => {
    expect(takenVolumeReason(wanted, live)).toBeUndefined();
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
