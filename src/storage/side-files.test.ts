import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirStore } from './local-store.js';
import { readJsonGzSideFile, SideFileError } from './side-files.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-side-files-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readJsonGzSideFile', () => {
  it('reads gzip JSON, and a missing object as undefined', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b/b-volumeinfo.json.gz', gzipSync(JSON.stringify([{ pvcName: 'data' }])));
    await expect(readJsonGzSideFile(store, 'backups/b/b-volumeinfo.json.gz')).resolves.toEqual([
      { pvcName: 'data' },
    ]);
    await expect(
      readJsonGzSideFile(store, 'backups/b/b-csi-volumesnapshots.json.gz'),
    ).resolves.toBeUndefined();
  });

  it('names the object when it is not gzip, not JSON, or too large', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b/plain.json.gz', '[1,2]');
    await store.put('backups/b/broken.json.gz', gzipSync('[{"pvcName": '));
    await store.put('backups/b/big.json.gz', gzipSync(JSON.stringify('x'.repeat(5000))));
    await expect(readJsonGzSideFile(store, 'backups/b/plain.json.gz')).rejects.toThrow(
      /object backups\/b\/plain\.json\.gz: not gzip data/,
    );
    await expect(readJsonGzSideFile(store, 'backups/b/broken.json.gz')).rejects.toThrow(
      /object backups\/b\/broken\.json\.gz: not JSON/,
    );
    const big = readJsonGzSideFile(store, 'backups/b/big.json.gz', { maxBytes: 1000 });
    await expect(big).rejects.toBeInstanceOf(SideFileError);
    await expect(big).rejects.toThrow(/big\.json\.gz: unpacks to more than the 1000 bytes/);
  });
});
