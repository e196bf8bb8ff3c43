// No credential and no Secret value ever reaches the policy repository. The location is a
// bucket on the real S3 server whose keys the reconciler reads from its environment; the
// namespace holds Secrets, one of which changes and one of which is lost before a restore
// that updates existing objects — so plans show Secrets being created and updated. After the
// whole flow every object the remote stores, on every branch, is searched for the S3 secret
// key and every Secret value, as text and as base64.
import { afterEach, describe, expect, it } from 'vitest';
import type { PassReport } from '../src/reconcile/pass.js';
import type { RestorePlan } from '../src/restore/plan.js';
import {
  b64,
  createAll,
  deleteAndWait,
  infoFor,
  read,
  secret,
  secretValue,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import {
  BOB,
  CAROL,
  createPolicyRepo,
  everyObject,
  FakeClock,
  KubeHandle,
  reconcilerFor,
  restoreDoc,
  s3Env,
  s3Location,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { ground, newBucket, newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

describe('the policy repository', () => {
  it('never holds a credential or a Secret value', async () => {
    const ns = await newNamespace('secrets');
    const k = await kube.get();
    const original = { password: secretValue('db-password'), token: secretValue('api-token') };
    const db: Seeded = secret(ns, 'db-credentials', { password: original.password });
    const api: Seeded = secret(ns, 'api-token', { token: original.token });
    await createAll(k, [db, api]);
    const bucket = await newBucket('secrets');
    const repo = await createPolicyRepo({
      'storage-locations/offsite.yaml': s3Location('offsite', {
        bucket,
        prefix: 'cluster-a',
        isDefault: true,
      }),
      'schedules/app.yaml': scheduleDoc('app', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const reports: PassReport[] = [];
    const r = await reconcilerFor(repo, {
      dataDir: await tempDir('secrets-data-'),
      kube,
      clock: new FakeClock('2025-10-01T08:00:00Z'),
      env: s3Env(),
    });
    const pass = async () => {
      const report = await r.pass();
      reports.push(report);
      return report;
    };
    expect((await pass()).events).toEqual([
      { action: 'backup', subject: 'app-20251001080000', outcome: 'Completed' },
    ]);

    // The password is rotated in the cluster, and the token Secret is lost.
    const rotated = secretValue('rotated-password');
    const secrets = await infoFor(k, 'secrets');
    await k.apply(
      secrets,
      { ...db.obj, data: { password: b64(rotated) } },
      { fieldManager: 'test', force: true },
    );
    await deleteAndWait(k, api);

    // Bob asks to put both back as they were; Carol merges; the reconciler applies.
    await (
      await repo.as(BOB)
    ).push(
      {
        'restores/secrets.yaml': restoreDoc('secrets', {
          backupName: 'app-20251001080000',
          includedNamespaces: [ns],
          existingResourcePolicy: 'update',
        }),
      },
      { message: 'restore the Secrets', branch: 'restore/secrets' },
    );
    await pass();
    const plan = JSON.parse(
      (await repo.file('plans/secrets.json', 'restore/secrets')) ?? 'null',
    ) as RestorePlan;
    const action = (name: string) =>
      plan.items.find((i) => i.groupResource === 'secrets' && i.name === name)?.action;
    expect([action('db-credentials'), action('api-token')]).toEqual(['update', 'create']);
    await (await repo.as(CAROL)).mergeNoFf('restore/secrets');
    expect((await pass()).events).toEqual([
      { action: 'apply-restore', subject: 'secrets', outcome: 'Completed' },
    ]);
    expect((await read(k, db))?.data).toEqual({ password: b64(original.password) });
    expect((await read(k, api))?.data).toEqual({ token: b64(original.token) });

    // Every object of the remote: blobs of every commit on every branch, and every message.
    const stored = await everyObject(repo.remote);
    // The search covers the plans and status that name the Secrets...
    expect(stored).toContain('db-credentials');
    expect(stored).toContain('api-token');
    expect(stored).toContain('kind: RestoreStatus');
    expect(stored).toContain('"kind": "RestorePlan"');
    expect(stored).toContain(`bucket: ${bucket}`);
    // ...and finds no secret in any form, nor in what the passes reported.
    const outputs = JSON.stringify(reports);
    const forbidden = [
      ground().s3.secretAccessKey,
      original.password,
      original.token,
      rotated,
      b64(original.password),
      b64(original.token),
      b64(rotated),
    ];
    for (const value of forbidden) {
      expect(stored.includes(value), `a secret (${value.slice(0, 6)}…) is in the repository`).toBe(false);
      expect(outputs.includes(value), `a secret (${value.slice(0, 6)}…) is in a pass report`).toBe(false);
    }
    // The location names where its keys come from, never the keys.
    expect(await repo.file('storage-locations/offsite.yaml')).toContain('LIFEBOAT_S3_TEST_SECRET');
  });
});
