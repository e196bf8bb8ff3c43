import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainRestoreFailure, inspectTarget, targetProblem } from './restore-target.js';

describe('targetProblem', () => {
  it('refuses a read-only volume before anything is written', () => {
    expect(targetProblem({ readOnly: true, freeBytes: 1e9 }, 10)).toContain(
      'the volume is mounted read-only on its node',
    );
  });

  it('refuses a volume with less free space than the backup holds, saying both sizes', () => {
    expect(targetProblem({ readOnly: false, freeBytes: 1048576 }, 3145734)).toBe(
      'the volume is full: it has 1048576 bytes free, the backup holds 3145734 bytes (give the claim or emptyDir sizeLimit more room); nothing was restored',
    );
  });

  it('lets a writable volume with room (exactly enough included) take the restore', () => {
    expect(targetProblem({ readOnly: false, freeBytes: 100 }, 100)).toBeUndefined();
    expect(targetProblem({ readOnly: false, freeBytes: 100 }, 0)).toBeUndefined();
  });
});

describe('explainRestoreFailure', () => {
  it("names a volume that filled up during the restore, keeping restic's words", () => {
    const restic =
      'restic restore: restic exited with code 1 (ignoring error for /small/f9: write /v/small/f9: no space left on device)';
    expect(explainRestoreFailure(restic)).toBe(
      `the volume is full: it filled up during the restore, which is incomplete (${restic})`,
    );
  });

  it('names a read-only volume', () => {
    const restic = 'restic restore: restic exited with code 1 (open /v/blob: read-only file system)';
    expect(explainRestoreFailure(restic)).toBe(
      `the volume is mounted read-only on its node (a claim the pod mounts with readOnly: true, or a read-only file system), so it cannot be filled (${restic})`,
    );
  });

  it('leaves other failures as restic said them', () => {
    expect(explainRestoreFailure('restic restore: wrong repository password')).toBe(
      'restic restore: wrong repository password',
    );
  });
});

describe('inspectTarget', () => {
  it('reads a writable directory as writable with its free bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'target-'));
    try {
      const fs = await inspectTarget(dir);
      expect(fs.readOnly).toBe(false);
      expect(fs.freeBytes).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('fails naming the directory when it does not exist', async () => {
    await expect(inspectTarget('/no/such/dir-of-a-volume')).rejects.toThrow('/no/such/dir-of-a-volume');
  });
});
