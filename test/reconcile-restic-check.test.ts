// `spec.restic.verify` on the real ground: a reconcile pass runs `restic check` on each restic
// repository of the location (two, made by real restic in the real S3 server: one that the
// location's password opens, one made with another password), writes
// status/repositories/<location>.yaml to Git and counts each check in the metrics; a pass before
// the next slot of the schedule checks nothing; the pass at the next slot checks again.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/observe/metrics.js';
import { createPolicyRepo, FakeClock, HOUR, KubeHandle, reconcilerFor } from './fixtures/policy-repo.js';
import { resticBinary } from './ground/restic.js';
import { ground, kubeConfig, newBucket, newNamespace, tempDir } from './ground/world.js';
import { createResticSecrets } from './fixtures/restic-secrets.js';

const run = promisify(execFile);
const PASSWORD = 'pw-restic-check';

/** A restic repository at restic/<namespace> of the bucket, with one snapshot of a small directory. */
async function makeRepository(bucket: string, namespace: string, password: string): Promise<void> {
  const { s3 } = ground();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    RESTIC_REPOSITORY: `s3:${s3.endpoint}/${bucket}/restic/${namespace}`,
    RESTIC_PASSWORD: password,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_DEFAULT_REGION: s3.region,
  };
  const dir = join(await tempDir('restic-data-'), 'data');
  await mkdir(dir);
  await writeFile(join(dir, 'a'), `some data of ${namespace}\n`.repeat(1000));
  const opts = ['--no-cache', '-o', 's3.bucket-lookup=path'];
  await run(resticBinary(), ['init', ...opts], { env });
  await run(resticBinary(), ['backup', ...opts, '--tag', 'backup=b1', '.'], { env, cwd: dir });
}

describe('restic check on the schedule of spec.restic.verify', () => {
  it('checks every repository of the location at each slot, into status/repositories and the metrics', async () => {
    const { s3 } = ground();
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const secrets = await newNamespace('rchk-sys');
    const bucket = await newBucket('rchk');
    await createResticSecrets(core, secrets, { password: PASSWORD });
    await makeRepository(bucket, 'good', PASSWORD);
    await makeRepository(bucket, 'other', 'a-password-lifeboat-does-not-have');

    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': stringify({
        apiVersion: 'lifeboat.dev/v1',
        kind: 'StorageLocation',
        metadata: { name: 'primary' },
        spec: {
          provider: 'aws',
          default: true,
          objectStorage: { bucket },
          config: { region: s3.region, s3Url: s3.endpoint, s3ForcePathStyle: true },
          credential: { secretRef: { namespace: secrets, name: 's3', key: 'cloud' } },
          restic: {
            passwordSecretRef: { namespace: secrets, name: 'restic', key: 'password' },
            verify: { schedule: '0 3 * * *' },
          },
        },
      }),
    });
    const kube = new KubeHandle();
    const metrics = createMetrics({ defaultMetrics: false });
    const clock = new FakeClock('2025-03-01T09:00:00Z');
    const r = await reconcilerFor(repo, {
      dataDir: await tempDir('rchk-data-'),
      kube,
      clock,
      deps: { restic: { binary: resticBinary() }, metrics },
    });
    type Status = {
      lastCheck: string;
      nextCheck: string;
      result: string;
      message: string;
      repositories: { namespace: string; result: string; error?: string }[];
    };
    try {
      // Never checked: the first pass checks at once.
      expect((await r.pass()).events).toContainEqual({
        action: 'check-repositories',
        subject: 'primary',
        outcome: 'Failed',
      });
      const first = await repo.yaml<Status>('status/repositories/primary.yaml');
      expect(first).toMatchObject({
        lastCheck: '2025-03-01T09:00:00.000Z',
        nextCheck: '2025-03-02T03:00:00.000Z',
        result: 'Failed',
        message: '1 of 2 repositories passed restic check',
      });
      expect(first?.repositories.map((x) => [x.namespace, x.result])).toEqual([
        ['good', 'Passed'],
        ['other', 'Failed'],
      ]);
      expect(first?.repositories[1]?.error).toContain('wrong repository password');
      const text = await metrics.registry.metrics();
      expect(text).toContain(
        'lifeboat_restic_check_total{location="primary",namespace="good",result="Passed"} 1',
      );
      expect(text).toContain(
        'lifeboat_restic_check_total{location="primary",namespace="other",result="Failed"} 1',
      );
      expect(text).toMatch(
        /lifeboat_restic_check_last_success_timestamp_seconds\{location="primary",namespace="good"\} \d+/,
      );
      expect(JSON.stringify(first)).not.toContain(PASSWORD);

      // Before the next slot: nothing is checked.
      clock.advance(2 * HOUR);
      expect((await r.pass()).events.filter((e) => e.action === 'check-repositories')).toEqual([]);
      expect((await repo.yaml<Status>('status/repositories/primary.yaml'))?.lastCheck).toBe(
        '2025-03-01T09:00:00.000Z',
      );

      // At the next slot (03:00 UTC): checked again.
      clock.set('2025-03-02T03:00:30Z');
      expect((await r.pass()).events.filter((e) => e.action === 'check-repositories')).toHaveLength(1);
      expect((await repo.yaml<Status>('status/repositories/primary.yaml'))?.lastCheck).toBe(
        '2025-03-02T03:00:30.000Z',
      );
      expect(await metrics.registry.metrics()).toContain(
        'lifeboat_restic_check_total{location="primary",namespace="good",result="Passed"} 2',
      );
    } finally {
      await kube.close();
    }
  }, 600_000);
});
