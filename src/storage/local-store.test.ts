// What is particular to the directory store. The behaviour every store shares is checked by
// the contract suite in test/storage-contract.test.ts.
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirStore } from './local-store.js';
import { readSmallObject, ReadOnlyStoreError, StoreError, StoreNotFoundError } from './store.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-local-store-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function listKeys(store: LocalDirStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys;
}

describe('LocalDirStore', () => {
  it('reads a small object whole, with the errors get() gives', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1/velero-backup.json', '{"kind":"Backup"}');
    await expect(readSmallObject(store, 'backups/b1/velero-backup.json')).resolves.toEqual(
      Buffer.from('{"kind":"Backup"}'),
    );
    for (const key of ['backups/b1/missing.json', 'backups/b1', 'backups/b1/velero-backup.json/x']) {
      await expect(store.readSmall(key)).rejects.toBeInstanceOf(StoreNotFoundError);
      await expect(store.get(key)).rejects.toBeInstanceOf(StoreNotFoundError);
    }
    await expect(store.readSmall('../escape')).rejects.toThrow(/has an empty/);
  });

  it('stores each key as a file under the root', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1/b1.tar.gz', Buffer.from('abc'));
    await expect(readFile(join(root, 'backups/b1/b1.tar.gz'), 'utf8')).resolves.toBe('abc');
    expect(store.describe).toBe(`file://${root}`);
  });

  it.each([
    ['../escape', 'has an empty'],
    ['backups/../../escape', 'has an empty'],
    ['/etc/passwd', 'absolute'],
    ['backups//b1', 'has an empty'],
    ['backups/./b1', 'has an empty'],
    ['a\\b', 'contains a backslash'],
    ['', 'empty'],
    ['backups/', 'has an empty'],
  ])('refuses the key %j (%s) on every operation', async (key, problem) => {
    const store = new LocalDirStore({ root });
    const message = new RegExp(`invalid object key .*: ${problem}`);
    await expect(store.put(key, 'x')).rejects.toThrow(message);
    await expect(store.get(key)).rejects.toThrow(message);
    await expect(store.exists(key)).rejects.toThrow(message);
    await expect(store.delete([key])).rejects.toThrow(message);
    expect(await readdir(root)).toEqual([]);
  });

  it.each(['../', '/abs/', 'a/../'])('refuses the list prefix %j', async (prefix) => {
    const store = new LocalDirStore({ root });
    await expect(listKeys(store, prefix)).rejects.toThrow(/invalid key prefix/);
    await expect(store.listPrefixes(prefix)).rejects.toThrow(/invalid key prefix/);
  });

  it('leaves no file behind when the body stream fails, and keeps the previous object', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1/data', 'old');
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(store.put('backups/b1/data', failing)).rejects.toThrow(
      /writing backups\/b1\/data failed: source broke/,
    );
    await expect(readFile(join(root, 'backups/b1/data'), 'utf8')).resolves.toBe('old');
    expect(await readdir(join(root, 'backups/b1'))).toEqual(['data']);
  });

  it('a failed write tells the producer why', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1', 'a file where a directory would have to be');
    const body = new Readable({ read() {} });
    body.push(Buffer.from('data'));
    const producerError = new Promise<unknown>((resolve) => body.on('error', resolve));
    await expect(store.put('backups/b1/b1.tar.gz', body)).rejects.toThrow(
      /writing backups\/b1\/b1.tar.gz failed/,
    );
    const err = await producerError;
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/writing backups\/b1\/b1.tar.gz failed/);
  });

  it('does not list the temporary files of writes in flight', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1/a', 'x');
    await writeFile(join(root, 'backups/b1/.lifeboat-tmp-0123456789abcdef'), 'half');
    await mkdir(join(root, 'backups/empty'), { recursive: true });
    expect(await listKeys(store, 'backups/')).toEqual(['backups/b1/a']);
    expect(await store.listPrefixes('backups/')).toEqual(['backups/b1/']);
  });

  it('lists in byte order of keys, not directory order', async () => {
    const store = new LocalDirStore({ root });
    for (const key of ['a/b', 'a-c', 'a/a/z', 'B']) await store.put(key, key);
    expect(await listKeys(store, '')).toEqual(['B', 'a-c', 'a/a/z', 'a/b']);
    expect(await listKeys(store, 'a')).toEqual(['a-c', 'a/a/z', 'a/b']);
    expect(await listKeys(store, 'a/')).toEqual(['a/a/z', 'a/b']);
  });

  it('removes directories emptied by delete, so the prefix disappears', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1/x', '1');
    await store.put('backups/b2/y', '2');
    await store.delete(['backups/b1/x']);
    await expect(stat(join(root, 'backups/b1'))).rejects.toThrow(/ENOENT/);
    expect(await store.listPrefixes('backups/')).toEqual(['backups/b2/']);
    await expect(stat(root)).resolves.toBeTruthy();
  });

  it('treats a directory as no object', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1/x', '1');
    await expect(store.get('backups/b1')).rejects.toThrow(StoreNotFoundError);
    await expect(store.exists('backups/b1')).resolves.toBe(false);
  });

  describe('check()', () => {
    it('fails clearly when the directory is missing and may not be created', async () => {
      const missing = join(root, 'nope');
      const store = new LocalDirStore({ root: missing });
      await expect(store.check()).rejects.toThrow(`file://${missing}: directory does not exist`);
      await expect(store.put('a', 'x')).rejects.toThrow(StoreError);
      await expect(stat(missing)).rejects.toThrow(/ENOENT/);
    });

    it('creates the directory when allowed', async () => {
      const missing = join(root, 'made/here');
      await new LocalDirStore({ root: missing, create: true }).check();
      expect((await stat(missing)).isDirectory()).toBe(true);
    });

    it('fails when the root is a file', async () => {
      await writeFile(join(root, 'file'), 'x');
      await expect(new LocalDirStore({ root: join(root, 'file') }).check()).rejects.toThrow(
        /not a directory/,
      );
    });
  });

  it('read-only: refuses put and delete, still reads', async () => {
    await new LocalDirStore({ root }).put('k', 'v');
    const store = new LocalDirStore({ root, readOnly: true });
    expect(store.readOnly).toBe(true);
    await expect(store.put('k', 'w')).rejects.toThrow(ReadOnlyStoreError);
    await expect(store.delete(['k'])).rejects.toThrow(ReadOnlyStoreError);
    await expect(store.check()).resolves.toBeUndefined();
    await expect(readFile(join(root, 'k'), 'utf8')).resolves.toBe('v');
  });
});

describe('LocalDirStore: unfinished uploads', () => {
  it('lists the temporary files a killed writer left, and aborting one removes it', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1/b1-logs.gz', Buffer.from('done'));
    await writeFile(join(root, 'backups/b1/.lifeboat-tmp-0123456789abcdef'), 'half an archive');
    const found = [];
    for await (const u of store.listUnfinishedUploads('backups/')) found.push(u);
    expect(found).toEqual([
      expect.objectContaining({
        key: 'backups/b1/.lifeboat-tmp-0123456789abcdef',
        id: 'backups/b1/.lifeboat-tmp-0123456789abcdef',
        size: 15,
        lastActivity: expect.any(Date) as Date,
      }),
    ]);
    await store.abortUpload(found[0] ?? { key: '', id: '' });
    expect(await readdir(join(root, 'backups/b1'))).toEqual(['b1-logs.gz']);
  });

  it('refuses to abort an id that names a finished object', async () => {
    const store = new LocalDirStore({ root });
    await store.put('backups/b1/b1-logs.gz', Buffer.from('done'));
    await expect(
      store.abortUpload({ key: 'backups/b1/b1-logs.gz', id: 'backups/b1/b1-logs.gz' }),
    ).rejects.toThrow(/is not an unfinished upload/);
    expect(await listKeys(store, 'backups/')).toEqual(['backups/b1/b1-logs.gz']);
  });
});
