// Integers beyond 2^53 survive a backup and a restore exactly. The API server (Go) keeps an
// int64 in a custom resource as it was sent; a JavaScript number cannot hold one, so lifeboat
// writes the archive from the API server's own bytes (src/kube/list-items.ts) and reads
// objects with src/util/json.ts, which turns such integers into BigInts and back.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { archiveEntries } from './fixtures/backups.js';
import {
  backupOf,
  createAll,
  deleteNamespaces,
  localWorld,
  read,
  uniqueName,
  widget,
  widgetCrd,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

const SPEC = {
  aboveSafe: 9007199254740993n, // 2^53 + 1: a double would make it ...992
  maxInt64: 9223372036854775807n,
  minInt64: -9223372036854775808n,
  safe: 42,
  digits: '12345678901234567890',
};

describe('int64 values above 2^53 in a custom resource', () => {
  it('are backed up as sent and restored exactly', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('int64');
    const group = `${uniqueName('g')}.restore.test`;
    const gadget = widget({ group, ns, name: 'big', spec: SPEC });
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      widgetCrd(group),
      gadget,
    ]);
    // The API server holds the exact values, and the client reads them back exactly.
    expect((await read(w.kube, gadget))?.spec).toEqual(SPEC);

    const backup = await backupOf(w, { includedNamespaces: [ns] });
    const { items } = await archiveEntries(w.store, backup.name);
    const stored = items.find((i) => i.namespace === ns && i.name === 'big' && i.versionDir === '');
    const json = stored?.content.toString('utf8') ?? '';
    expect(json).toContain('"aboveSafe":9007199254740993');
    expect(json).toContain('"maxInt64":9223372036854775807');
    expect(json).toContain('"minInt64":-9223372036854775808');

    await deleteNamespaces(w.kube, [ns]);
    const name = uniqueName('int64');
    const { plan } = await planRestore({ name, spec: { backupName: backup.name } }, w.deps());
    expect(plan.items.find((i) => i.name === 'big')?.action).toBe('create');
    const result = await applyRestore({ name, spec: { backupName: backup.name } }, w.deps());
    expect(result.phase).toBe('Completed');
    expect((await read(w.kube, gadget))?.spec).toEqual(SPEC);

    // Planned again over the restored object, the values compare equal: nothing to update.
    const again = await planRestore(
      { name: uniqueName('int64'), spec: { backupName: backup.name, existingResourcePolicy: 'update' } },
      w.deps(),
    );
    expect(again.plan.items.find((i) => i.name === 'big')?.action).toBe('unchanged');
  });
});
