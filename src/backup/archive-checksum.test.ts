import { describe, expect, it } from 'vitest';
import {
  backupMadeBy,
  checksumState,
  checksumWarnings,
  describeChecksum,
  MissingChecksumError,
} from './archive-checksum.js';
import { buildVeleroBackup, type VeleroBackup } from './velero-backup.js';

const start = new Date('2026-01-15T02:00:00Z');
const lifeboat = (annotations: Record<string, string>): VeleroBackup =>
  buildVeleroBackup({ name: 'b1', spec: {}, annotations, phase: 'Completed', start });

/** velero-backup.json as Velero writes it: its own annotations, none of lifeboat's. */
function velero(): VeleroBackup {
  const b = lifeboat({});
  b.metadata.annotations = { 'velero.io/source-cluster-k8s-gitversion': 'v1.33.2' };
  return b;
}

const SHA = 'ab'.repeat(32);

describe('who made a backup', () => {
  it.each<[string, VeleroBackup, 'lifeboat' | 'velero']>([
    ['lifeboat (created-by)', lifeboat({ 'lifeboat.dev/archive-sha256': SHA }), 'lifeboat'],
    [
      'lifeboat with only another lifeboat.dev/ annotation left',
      withOnly('lifeboat.dev/resource-version'),
      'lifeboat',
    ],
    ['Velero', velero(), 'velero'],
  ])('%s', (_label, b, maker) => {
    expect(backupMadeBy(b)).toBe(maker);
  });
});

function withOnly(key: string): VeleroBackup {
  const b = lifeboat({});
  b.metadata.annotations = { [key]: '42' };
  return b;
}

describe('a missing checksum', () => {
  it('is nothing to report when recorded', () => {
    const b = lifeboat({ 'lifeboat.dev/archive-sha256': SHA });
    expect(checksumState(b)).toEqual({ state: 'recorded', sha256: SHA });
    expect(checksumWarnings(b)).toEqual([]);
    expect(describeChecksum(b)).toBe(SHA);
  });

  it('is a warning for a Velero backup', () => {
    const b = velero();
    expect(checksumWarnings(b)).toEqual([
      'backup b1 was made by Velero, which records no checksum: the archive is not verified',
    ]);
    expect(describeChecksum(b)).toBe('none recorded (Velero backup)');
  });

  it('is an error for a lifeboat backup, unless allowed', () => {
    const b = lifeboat({});
    expect(() => checksumWarnings(b)).toThrow(MissingChecksumError);
    expect(() => checksumWarnings(b)).toThrow(
      /^backup b1: velero-backup.json records no archive checksum \(lifeboat.dev\/archive-sha256\)/,
    );
    expect(checksumWarnings(b, { allowMissing: true })).toEqual([
      expect.stringMatching(/^backup b1 was made by lifeboat but records no checksum/),
    ]);
    expect(describeChecksum(b)).toMatch(/^MISSING/);
  });
});
