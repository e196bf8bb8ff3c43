import { describe, expect, it } from 'vitest';
import type { FsVolumeRecord } from '../volumes/podvolumebackups-file.js';
import {
  compareVolumes,
  describeVolume,
  volumeCounts,
  type VolumeComparisonInput,
} from './verification-volumes.js';

const record = (o: Partial<FsVolumeRecord> = {}): FsVolumeRecord => ({
  namespace: 'shop',
  pod: 'db-0',
  volume: 'data',
  snapshotId: 'abc',
  files: 81,
  dirs: 1,
  bytes: 3_146_000,
  ...o,
});

const input = (o: Partial<VolumeComparisonInput>): VolumeComparisonInput => ({
  records: [],
  csiClaims: [],
  mapping: { shop: 'v-shop' },
  podVolumes: [],
  movedClaims: [],
  claim: () => undefined,
  itemFailures: new Map(),
  ...o,
});

const filled = {
  namespace: 'v-shop',
  pod: 'db-0',
  volume: 'data',
  snapshotId: 'abc',
  result: 'succeeded' as const,
  files: 81,
  bytes: 3_146_000,
  verified: true,
};

describe('compareVolumes: restic copies of pod volumes', () => {
  it.each([
    {
      what: 'files, bytes and the read-back match: passed',
      outcome: filled,
      result: 'passed',
      reason: undefined,
    },
    {
      what: 'fewer bytes than recorded: failed, both counts named',
      outcome: { ...filled, bytes: 3_000_000 },
      result: 'failed',
      reason: 'restored 81 files / 3000000 bytes, but the backup recorded 81 files / 3146000 bytes',
    },
    {
      what: 'no read-back by the agent: failed',
      outcome: { ...filled, verified: false },
      result: 'failed',
      reason:
        'the node agent did not say it read the restored files back (is it older than this reconciler, without restic restore --verify?)',
    },
    {
      what: "the agent's failure: failed with its words",
      outcome: {
        ...filled,
        result: 'failed' as const,
        error: 'volume data of pod v-shop/db-0: restic restore: ciphertext verification failed',
      },
      result: 'failed',
      reason: 'volume data of pod v-shop/db-0: restic restore: ciphertext verification failed',
    },
  ])('$what', ({ outcome, result, reason }) => {
    const [line] = compareVolumes(input({ records: [record()], podVolumes: [outcome] }));
    expect(line).toMatchObject({
      kind: 'file-system-copy',
      namespace: 'v-shop',
      pod: 'db-0',
      volume: 'data',
      expected: { files: 81, bytes: 3_146_000 },
      result,
    });
    expect(line?.reason).toBe(reason);
    expect(line?.checked).toContain('restic restore --verify');
  });

  it('a volume the restore did not fill fails, with why its pod was not restored', () => {
    const lines = compareVolumes(
      input({
        records: [record()],
        itemFailures: new Map([['pods v-shop/db-0', 'admission webhook denied it']]),
      }),
    );
    expect(lines).toEqual([
      expect.objectContaining({
        result: 'failed',
        reason: 'its pod was not restored: admission webhook denied it',
      }),
    ]);
    expect(describeVolume(lines[0]!)).toBe('volume data of pod v-shop/db-0');
  });

  it('volumes of namespaces the restore did not map are not lines', () => {
    expect(compareVolumes(input({ records: [record({ namespace: 'other' })] }))).toEqual([]);
  });
});

describe('compareVolumes: moved snapshot data', () => {
  const moved = record({ pod: 'mover-x', volume: 'data', sourceClaim: 'pg-data', files: 3, bytes: 10 });
  it('passes on a verified fill with the recorded counts, failing one that is missing', () => {
    const ok = compareVolumes(
      input({
        records: [moved],
        movedClaims: [
          {
            namespace: 'v-shop',
            claim: 'pg-data',
            result: 'succeeded',
            snapshotId: 'abc',
            files: 3,
            bytes: 10,
            verified: true,
          },
        ],
      }),
    );
    expect(ok).toEqual([
      expect.objectContaining({
        kind: 'moved-snapshot-data',
        claim: 'pg-data',
        result: 'passed',
        files: 3,
        bytes: 10,
      }),
    ]);
    const missing = compareVolumes(input({ records: [moved] }));
    expect(missing[0]).toMatchObject({
      result: 'failed',
      reason: 'the restore did not fill the claim from its moved snapshot data',
    });
    expect(describeVolume(missing[0]!)).toBe('claim v-shop/pg-data');
  });
});

describe('compareVolumes: CSI snapshots', () => {
  const claim = { namespace: 'shop', claim: 'logs', volumeSnapshot: 'velero-logs-x' };
  it.each([
    { state: { phase: 'Bound', fromSnapshot: 'r-logs' }, result: 'passed', reason: undefined },
    {
      state: { phase: 'Pending', fromSnapshot: 'r-logs' },
      result: 'failed',
      reason: 'the claim is Pending, not Bound: its volume was not provisioned from the snapshot',
    },
    {
      state: { phase: 'Bound' },
      result: 'failed',
      reason: 'the claim was not made from a VolumeSnapshot (no spec.dataSource)',
    },
    { state: undefined, result: 'failed', reason: 'the claim is not in the scratch namespace' },
  ])('claim $state.phase from $state.fromSnapshot: $result', ({ state, result, reason }) => {
    const [line] = compareVolumes(input({ csiClaims: [claim], claim: () => state }));
    expect(line).toMatchObject({ kind: 'csi-snapshot', namespace: 'v-shop', claim: 'logs', result });
    expect(line?.reason).toBe(reason);
    expect(line?.checked).toBe(
      "claim made from the backup's CSI snapshot shop/velero-logs-x and Bound; its data was not read (the backup holds no copy of it to compare with)",
    );
  });
});

describe('volumeCounts', () => {
  it('counts passed and failed lines', () => {
    const lines = compareVolumes(
      input({
        records: [record(), record({ volume: 'cache' })],
        podVolumes: [filled],
      }),
    );
    expect(volumeCounts(lines)).toEqual({ checked: 2, passed: 1, failed: 1 });
    // Sorted by namespace, pod, volume: cache before data.
    expect(lines.map((l) => [l.volume, l.result])).toEqual([
      ['cache', 'failed'],
      ['data', 'passed'],
    ]);
  });
});

describe('compareVolumes order', () => {
  it('sorts field by field: a claim line (no pod) comes before the pod volumes of its namespace', () => {
    const lines = compareVolumes(
      input({
        records: [record({ pod: 'app' })],
        csiClaims: [{ namespace: 'shop', claim: 'logs', volumeSnapshot: 's' }],
        podVolumes: [{ ...filled, pod: 'app' }],
        claim: () => ({ phase: 'Bound', fromSnapshot: 'r' }),
      }),
    );
    expect(lines.map((l) => [l.kind, l.pod, l.claim])).toEqual([
      ['csi-snapshot', undefined, 'logs'],
      ['file-system-copy', 'app', undefined],
    ]);
  });
});
