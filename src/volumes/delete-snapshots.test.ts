import { describe, expect, it } from 'vitest';
import type { VolumeSnapshot } from '../kube/snapshots.js';
import { findOrphanSnapshots } from './delete-snapshots.js';

function vs(name: string, backup: string | undefined, created: string): VolumeSnapshot {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name,
      namespace: 'shop',
      creationTimestamp: created,
      ...(backup ? { labels: { 'velero.io/backup-name': backup } } : {}),
    },
    spec: { source: { persistentVolumeClaimName: 'data' } },
  };
}

describe('findOrphanSnapshots', () => {
  const now = new Date('2026-12-04T12:00:00Z');
  const long = `nightly-${'x'.repeat(70)}`;

  it('reports snapshots whose backup no location holds, older than the grace period', () => {
    const orphans = findOrphanSnapshots({
      snapshots: [
        vs('kept', 'nightly-1', '2026-12-01T00:00:00Z'),
        vs('gone', 'nightly-0', '2026-12-01T00:00:00Z'),
        vs('young', 'running-now', '2026-12-04T11:59:00Z'),
        vs('unlabelled', undefined, '2026-12-01T00:00:00Z'),
        // Velero's label value of a long name is shortened: the backup still matches.
        vs('long', long.slice(0, 57) + 'abcdef', '2026-12-01T00:00:00Z'),
      ],
      backups: ['nightly-1'],
      now,
      graceMs: 10 * 60_000,
    });
    expect(orphans.map((o) => `${o.name}:${o.backup}`)).toEqual([
      'gone:nightly-0',
      `long:${long.slice(0, 57)}abcdef`,
    ]);
  });
});
