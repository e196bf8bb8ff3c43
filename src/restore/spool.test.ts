import { mkdtemp, readdir, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { ObjectSpool } from './spool.js';

const secret = (name: string, value: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'shop' },
  data: { password: Buffer.from(value).toString('base64') },
});

const size = (o: KubeObject): number => JSON.stringify(o).length;

describe('ObjectSpool', () => {
  it('keeps objects in memory up to its budget, and the rest on disk', async () => {
    const objects = Array.from({ length: 10 }, (_, i) => secret(`s-${i}`, `value-${i}`));
    const each = size(objects[0] as KubeObject);
    // Room for three of them: a parsed object counts three times its JSON.
    const spool = await ObjectSpool.create({ memoryBudget: 3 * 3 * each });
    try {
      for (const o of objects) await spool.put(o.metadata.name ?? '', o, each);
      expect(spool.count).toBe(10);
      expect(spool.onDisk).toBe(7);
      // Kept ones come back as they are; spilled ones as equal copies.
      expect(await spool.get('s-0')).toBe(objects[0]);
      expect(await spool.get('s-9')).toEqual(objects[9]);
      expect(await spool.get('s-9')).not.toBe(objects[9]);
      // Dropping a kept object makes room again.
      spool.delete('s-0');
      expect(spool.has('s-0')).toBe(false);
      const extra = secret('extra', 'x');
      await spool.put('extra', extra, each);
      expect(await spool.get('extra')).toBe(extra);
      expect(spool.onDisk).toBe(7);
    } finally {
      await spool.close();
    }
  });

  it('gives back each object stored, by key, with many writes in flight at once', async () => {
    const spool = await ObjectSpool.create({ memoryBudget: 0 });
    try {
      const objects = Array.from({ length: 200 }, (_, i) => secret(`s-${i}`, `value-${i}`));
      await Promise.all(objects.map((o) => spool.put(o.metadata.name ?? '', o, size(o))));
      expect(spool.count).toBe(200);
      expect(spool.onDisk).toBe(200);
      for (const o of objects) expect(await spool.get(o.metadata.name ?? '')).toEqual(o);
      expect(await spool.get('absent')).toBeUndefined();
      expect(spool.has('s-7')).toBe(true);
    } finally {
      await spool.close();
    }
  });

  it('keeps the last object put under a key', async () => {
    const spool = await ObjectSpool.create({ memoryBudget: 1000 });
    try {
      const [one, two] = [secret('a', 'one'), secret('a', 'two')];
      await spool.put('k', one, size(one));
      await spool.put('k', two, 1000); // now over the budget: on disk
      expect(spool.onDisk).toBe(1);
      expect((await spool.get('k'))?.data).toEqual({ password: Buffer.from('two').toString('base64') });
    } finally {
      await spool.close();
    }
  });

  it('leaves no file behind, and none of its content readable while it is open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
    const spool = await ObjectSpool.create({ dir, memoryBudget: 0 });
    try {
      const db = secret('db', 'hunter2-very-secret');
      await spool.put('k', db, size(db));
      // Reading it back writes it out first.
      expect((await spool.get('k'))?.metadata.name).toBe('db');
      // The directory is empty: the file was unlinked as soon as it was opened.
      expect(await readdir(dir)).toEqual([]);
      // Even through the open descriptor (Linux shows it as deleted) the bytes are ciphertext.
      const fds = await readdir('/proc/self/fd');
      const links = await Promise.all(
        fds.map(async (fd) => [fd, await readlink(join('/proc/self/fd', fd)).catch(() => '')] as const),
      );
      const spooled = links.filter(([, target]) => target.startsWith(dir));
      expect(spooled).toHaveLength(1);
      const content = await readFile(join('/proc/self/fd', spooled[0]?.[0] ?? ''));
      expect(content.length).toBeGreaterThan(0);
      expect(content.includes('hunter2-very-secret')).toBe(false);
      expect(content.includes(Buffer.from('hunter2-very-secret').toString('base64'))).toBe(false);
    } finally {
      await spool.close();
    }
  });
});
