// docs/coming-from-velero.md lists every key lifeboat writes in a location. This test takes a
// backup, a restore and the reconciler's bucket lock on the real S3 server, and checks that the
// bucket then holds exactly the keys the docs promise, each one readable.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BucketLock } from '../src/reconcile/leader.js';
import { applyRestore } from '../src/restore/engine.js';
import { readSmallObject } from '../src/storage/store.js';
import {
  backupOf,
  configMap,
  createAll,
  s3World,
  uniqueName,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';
import { newNamespace } from './ground/world.js';

const docs = fileURLToPath(new URL('../docs/coming-from-velero.md', import.meta.url));

/** The keys in the text block of the "bucket layout" item of the docs. */
function promisedKeys(): string[] {
  const text = readFileSync(docs, 'utf8');
  const at = text.indexOf('**The bucket layout**');
  expect(at, 'the docs have a "bucket layout" item').toBeGreaterThan(-1);
  const block = /```text\n([\s\S]*?)```/.exec(text.slice(at));
  expect(block, 'the bucket layout item lists its keys in a text block').not.toBeNull();
  return (block?.[1] ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

describe('the bucket layout in the docs', () => {
  it('is exactly what a backup, a restore and the bucket lock write, and every key reads', async () => {
    const promised = promisedKeys();
    expect(promised.length).toBeGreaterThan(0);
    const w = await s3World();
    world = w;
    const ns = await newNamespace('layout');
    await createAll(w.kube, [configMap(ns, 'settings', { colour: 'blue' })]);
    const backup = await backupOf(w, { includedNamespaces: [ns] }, 'layout');
    const restoreName = uniqueName('layout-restore');
    const restored = await applyRestore(
      { name: restoreName, spec: { backupName: backup.name, namespaceMapping: { [ns]: `${ns}-copy` } } },
      w.deps(),
    );
    expect(restored.phase).toBe('Completed');
    const lock = new BucketLock(w.store, 'layout-test');
    expect(await lock.tryAcquire(new Date())).toBe(true);

    const written: string[] = [];
    for await (const o of w.store.list('')) written.push(o.key);
    const asPromised = written.map((k) =>
      k.startsWith('backups/') ? k.replaceAll(backup.name, '<name>') : k.replaceAll(restoreName, '<name>'),
    );
    expect(asPromised.sort()).toEqual([...promised].sort());
    for (const key of written) expect((await readSmallObject(w.store, key)).length).toBeGreaterThan(0);
  });
});
