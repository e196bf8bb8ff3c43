import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePodVolumeBackups, encodePodVolumeBackups } from './podvolumebackups-file.js';
import type { PodVolumeBackup } from './pod-volume-types.js';
import type { FsVolumeOutcome } from './restic-capturer.js';

const pvb = (volume: string, phase: 'Completed' | 'Failed'): PodVolumeBackup => ({
  apiVersion: 'lifeboat.dev/v1alpha1',
  kind: 'PodVolumeBackup',
  metadata: { name: `b1-${volume}`, namespace: 'lifeboat' },
  spec: {
    node: 'n1',
    pod: { namespace: 'shop', name: 'db-0', uid: 'u1' },
    volume,
    backupName: 'b1',
    repository: {
      volumeNamespace: 'shop',
      bucket: 'b',
      passwordSecret: { namespace: 'lifeboat', name: 'restic', key: 'password' },
    },
  },
  status:
    phase === 'Completed'
      ? { phase, snapshotID: 'ab'.repeat(32), files: 3, dirs: 2, bytes: 4096 }
      : { phase, message: 'volume data of pod shop/db-0: wrong repository password' },
});

const outcome = (volume: string, phase: 'Completed' | 'Failed'): FsVolumeOutcome => ({
  namespace: 'shop',
  pod: 'db-0',
  volume,
  method: 'PodVolumeBackup',
  result: phase === 'Completed' ? 'succeeded' : 'failed',
  start: '2026-12-04T00:00:00Z',
  completion: '2026-12-04T00:01:00Z',
  object: pvb(volume, phase),
});

describe('the podvolumebackups side file', () => {
  it('keeps every PodVolumeBackup and gives back the completed volumes for a restore', () => {
    const gz = encodePodVolumeBackups([outcome('data', 'Completed'), outcome('logs', 'Failed')]);
    expect(decodePodVolumeBackups(gz, 'b1-podvolumebackups.json.gz')).toEqual([
      {
        namespace: 'shop',
        pod: 'db-0',
        volume: 'data',
        snapshotId: 'ab'.repeat(32),
        files: 3,
        dirs: 2,
        bytes: 4096,
      },
    ]);
  });

  it('keeps the claim a moved snapshot stands for (snapshotMoveData)', () => {
    const moved = outcome('data', 'Completed');
    const object = moved.object as PodVolumeBackup;
    object.spec = {
      ...object.spec,
      pod: { namespace: 'shop', name: 'lifeboat-move-1', uid: 'u2' },
      sourceClaim: 'pgdata',
    };
    const [record] = decodePodVolumeBackups(encodePodVolumeBackups([moved]), 'b1-podvolumebackups.json.gz');
    expect(record).toMatchObject({ namespace: 'shop', pod: 'lifeboat-move-1', sourceClaim: 'pgdata' });
  });

  it('names the file when it is not what it should be', () => {
    expect(() => decodePodVolumeBackups(Buffer.from('nope'), 'x.json.gz')).toThrow(
      /^x\.json\.gz: not a gzipped JSON list/,
    );
    const broken = gzipSync(JSON.stringify([{ status: { phase: 'Completed' } }]));
    expect(() => decodePodVolumeBackups(broken, 'x.json.gz')).toThrow('x.json.gz: item 0 lacks');
    expect(() => decodePodVolumeBackups(gzipSync('{}'), 'x.json.gz')).toThrow('x.json.gz: not a JSON list');
  });

  it("reads Velero's file of a backup without pod volume copies (Go's nil slice, null) as no volumes", () => {
    expect(decodePodVolumeBackups(gzipSync('null'), 'v-podvolumebackups.json.gz')).toEqual([]);
  });
});
