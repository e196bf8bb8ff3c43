// The status tree is a projection of the buckets: if someone deletes status/ (or the status
// branch is lost), the next pass writes the same backups and restores back from what the
// locations hold — including the schedule's last run, read from the backup names.
import { afterEach, describe, expect, it } from 'vitest';
import { createAll, configMap } from './fixtures/restore-fixtures.js';
import {
  ALICE,
  createPolicyRepo,
  FakeClock,
  HOUR,
  KubeHandle,
  localLocation,
  reconcilerFor,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

async function statusTree(files: string[], read: (path: string) => Promise<string | undefined>) {
  const out: Record<string, string | undefined> = {};
  for (const f of files) out[f] = await read(f);
  return out;
}

describe('the status tree', () => {
  it('is rebuilt from the buckets alone after status/ is deleted', async () => {
    const ns = await newNamespace('rebuild');
    await createAll(await kube.get(), [configMap(ns, 'settings', { color: 'green' })]);
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/hourly.yaml': scheduleDoc('hourly', { cron: '0 * * * *', namespaces: [ns], ttl: '720h' }),
    });
    const dataDir = await tempDir('rebuild-data-');
    const clock = new FakeClock('2025-06-01T08:30:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock });

    await r.pass(); // the first backup, at once
    clock.advance(2 * HOUR); // one catch-up backup
    await r.pass();
    const files = await repo.files('status/');
    expect(files).toEqual([
      'status/backups/hourly-20250601083000.yaml',
      'status/backups/hourly-20250601100000.yaml',
      'status/schedules/hourly.yaml',
    ]);
    const before = await statusTree(files, (f) => repo.file(f));

    // A person removes the whole status tree.
    const alice = await repo.as(ALICE);
    await alice.push(Object.fromEntries(files.map((f) => [f, null])), { message: 'Drop status' });
    expect(await repo.files('status/')).toEqual([]);

    // The next pass, at the same moment, takes no backup and writes the same status back.
    const report = await r.pass();
    expect(report.events).toEqual([]);
    expect(await repo.files('status/')).toEqual(files);
    // Byte for byte: Alice's commit touched only status/, so even observedRevision is the same.
    expect(await statusTree(files, (f) => repo.file(f))).toEqual(before);
  });
});
