import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceListSpool, type ResourceListSpoolOptions } from './resource-list.js';
import { inListOrder } from './selection.js';

const spools: ResourceListSpool[] = [];
afterEach(async () => {
  await Promise.all(spools.splice(0).map((s) => s.close()));
});

function spool(opts: ResourceListSpoolOptions = {}): ResourceListSpool {
  const s = new ResourceListSpool(opts);
  spools.push(s);
  return s;
}

/** The list as gzipped() streams it; gzippedInMemory() must give the same bytes, or none once spilled. */
async function written(s: ResourceListSpool): Promise<{ text: string; list: Record<string, string[]> }> {
  const streamed = await buffer(await s.gzipped());
  const inMemory = await s.gzippedInMemory();
  if (s.spilled) expect(inMemory).toBeUndefined();
  else expect(inMemory?.equals(streamed)).toBe(true);
  const text = gunzipSync(streamed).toString('utf8');
  return { text, list: JSON.parse(text) as Record<string, string[]> };
}

describe('ResourceListSpool', () => {
  it('writes keys in byte order and each key’s pages in the order they came', async () => {
    const s = spool();
    s.add('v1/Secret', ['a/s1']);
    s.add('apps/v1/Deployment', ['a/web', 'b/api']);
    s.add('v1/ConfigMap', ['a/one', 'a/two']);
    s.add('apps/v1/Deployment', ['c/db']);
    s.add('Z/v1/Upper', ['x']);
    const { text, list } = await written(s);
    // Go's json.Marshal sorts map keys by bytes: uppercase before lowercase.
    expect(Object.keys(list)).toEqual(['Z/v1/Upper', 'apps/v1/Deployment', 'v1/ConfigMap', 'v1/Secret']);
    expect(list['apps/v1/Deployment']).toEqual(['a/web', 'b/api', 'c/db']);
    expect(list['v1/ConfigMap']).toEqual(['a/one', 'a/two']);
    expect(text.startsWith('{"Z/v1/Upper":["x"],')).toBe(true);
  });

  it('sorts a key whose names came out of order, and only that one', async () => {
    const s = spool();
    s.add('metrics.k8s.io/v1beta1/PodMetrics', ['b/p2', 'a/p9']);
    s.add('metrics.k8s.io/v1beta1/PodMetrics', ['a/p1']);
    s.add('v1/ConfigMap', ['a/x', 'b/y']);
    const { list } = await written(s);
    expect(list['metrics.k8s.io/v1beta1/PodMetrics']).toEqual(['a/p1', 'a/p9', 'b/p2']);
    expect(list['v1/ConfigMap']).toEqual(['a/x', 'b/y']);
  });

  it('keeps names with newlines, quotes and non-ASCII characters intact', async () => {
    const s = spool();
    const odd = ['ns/a"quoted"', 'ns/line\nbreak', 'ns/ünïcode'];
    s.add('example.com/v1/Thing', odd);
    const { list } = await written(s);
    expect(list['example.com/v1/Thing']).toEqual(odd);
  });

  it('round-trips many pages that go to disk in several writes', async () => {
    const s = spool({ memoryBytes: 64 * 1024 });
    const expected: string[] = [];
    for (let page = 0; page < 40; page++) {
      const names = Array.from({ length: 500 }, (_, i) => {
        const n = page * 500 + i;
        return `ns-${String(Math.floor(n / 1000)).padStart(3, '0')}/cm-${String(n).padStart(6, '0')}`;
      });
      expected.push(...names);
      s.add('v1/ConfigMap', names);
    }
    expect(s.spilled).toBe(true);
    const { list } = await written(s);
    expect(list['v1/ConfigMap']).toHaveLength(20_000);
    expect(list['v1/ConfigMap']).toEqual(expected);
  });

  it('gives the list as one buffer while its names are in memory, and none once some went to disk', async () => {
    const s = spool({ memoryBytes: 4096 });
    s.add('v1/ConfigMap', ['a/one', 'b/two']);
    const whole = await s.gzippedInMemory();
    expect(JSON.parse(gunzipSync(whole ?? Buffer.alloc(0)).toString('utf8'))).toEqual({
      'v1/ConfigMap': ['a/one', 'b/two'],
    });
    s.add(
      'v1/ConfigMap',
      Array.from({ length: 500 }, (_, i) => `c/n-${String(i).padStart(3, '0')}`),
    );
    expect(s.spilled).toBe(true);
    expect(await s.gzippedInMemory()).toBeUndefined();
    expect((await written(s)).list['v1/ConfigMap']).toHaveLength(502);
  });

  it('writes an empty object when nothing was added', async () => {
    const s = spool();
    expect((await written(s)).text).toBe('{}');
  });

  it('keeps a small list in memory, without a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-resource-list-test-'));
    try {
      const s = spool({ dir });
      s.add('v1/ConfigMap', ['a/b']);
      expect((await written(s)).list).toEqual({ 'v1/ConfigMap': ['a/b'] });
      expect(s.spilled).toBe(false);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sorts a key that came out of order even when its names are partly on disk', async () => {
    const s = spool({ memoryBytes: 1 });
    s.add('v1/Pod', ['b/x', 'b/y']);
    s.add('v1/Pod', ['a/z']);
    expect(s.spilled).toBe(true);
    expect((await written(s)).list).toEqual({ 'v1/Pod': ['a/z', 'b/x', 'b/y'] });
  });

  it('says where it could not keep the names, when the disk refuses', async () => {
    const s = spool({ dir: '/nonexistent/lifeboat-test', memoryBytes: 1 });
    s.add('v1/ConfigMap', ['a/b', 'a/c']);
    await expect(s.gzipped()).rejects.toThrow(
      "cannot keep the resource list's names on disk in /nonexistent/lifeboat-test",
    );
  });

  it('fails the list it is writing when the names cannot be read back', async () => {
    const s = new ResourceListSpool({ memoryBytes: 1 });
    s.add('v1/ConfigMap', ['a/b', 'a/c']);
    const list = await s.gzipped();
    await s.close(); // the file goes away before the list is read
    await expect(buffer(list)).rejects.toThrow(/closed|EBADF/);
  });

  it('leaves no file behind once names go to disk, even while open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-resource-list-test-'));
    try {
      const s = spool({ dir, memoryBytes: 1 });
      s.add('v1/ConfigMap', ['a/b', 'a/c']);
      s.add('v1/ConfigMap', ['a/d']);
      expect(s.spilled).toBe(true);
      expect((await written(s)).list).toEqual({ 'v1/ConfigMap': ['a/b', 'a/c', 'a/d'] });
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('inListOrder', () => {
  it('orders namespaces so that their lists, one after another, are in "<ns>/<name>" order', () => {
    const namespaces = ['b', 'app', 'app-1', 'app.x', 'a'];
    const ordered = inListOrder(namespaces) ?? [];
    expect(ordered).toEqual(['a', 'app-1', 'app.x', 'app', 'b']);
    const concatenated = ordered.flatMap((ns) => [`${ns}/x`, `${ns}/y`]);
    expect(concatenated).toEqual([...concatenated].sort());
  });

  it('keeps "all namespaces" as it is', () => {
    expect(inListOrder(undefined)).toBeUndefined();
  });
});
