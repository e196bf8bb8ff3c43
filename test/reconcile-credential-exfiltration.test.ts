// A StorageLocation cannot make the reconciler send its other secrets anywhere: one that names
// LIFEBOAT_GIT_TOKEN as its access key id and points at a listener of the author's choice
// (here a plain HTTP server on loopback standing in for the attacker's endpoint) is refused at
// its file, line and field, and the listener hears nothing; one on the cloud metadata address
// is refused too. The good schedule beside them still backs up.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  createPolicyRepo,
  everyObject,
  FakeClock,
  KubeHandle,
  localLocation,
  reconcilerFor,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
let listener: Server | undefined;
afterEach(async () => {
  await kube.close();
  await new Promise((resolve) => (listener ? listener.close(resolve) : resolve(undefined)));
});

const GIT_TOKEN = 'ghp_GIT-TOKEN-UNDER-TEST-5d2e';

interface PolicyErrorsFile {
  errors: { location: string; field?: string; document?: string; message: string }[];
}

const location = (name: string, s3Url: string, accessKeyIdVar: string) =>
  stringify({
    apiVersion: 'lifeboat.dev/v1',
    kind: 'StorageLocation',
    metadata: { name },
    spec: {
      provider: 'aws',
      objectStorage: { bucket: 'loot' },
      config: { region: 'us-east-1', s3Url, s3ForcePathStyle: true },
      credential: { fromEnv: { accessKeyIdVar, secretAccessKeyVar: 'LIFEBOAT_S3_SECRET' } },
    },
  });

describe('a StorageLocation written to exfiltrate', () => {
  it('cannot read the Git token or reach the metadata address; the listener hears nothing', async () => {
    const heard: string[] = [];
    listener = createServer((req, res) => {
      heard.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<ListBucketResult></ListBucketResult>');
    });
    await new Promise<void>((resolve) => listener?.listen(0, '127.0.0.1', resolve));
    const address = listener.address();
    const port = typeof address === 'object' && address ? address.port : 0;

    const ns = await newNamespace('exfil');
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'storage-locations/loot.yaml': location('loot', `http://127.0.0.1:${port}`, 'LIFEBOAT_GIT_TOKEN'),
      'storage-locations/imds.yaml': location('imds', 'http://169.254.169.254', 'AWS_ACCESS_KEY_ID'),
      'schedules/good.yaml': scheduleDoc('good', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const r = await reconcilerFor(repo, {
      dataDir: await tempDir('exfil-data-'),
      kube,
      clock: new FakeClock('2025-09-01T10:00:00Z'),
      env: { LIFEBOAT_GIT_TOKEN: GIT_TOKEN, LIFEBOAT_S3_SECRET: 'anything' },
    });
    const report = await r.pass();
    expect(report.events).toEqual([
      { action: 'backup', subject: 'good-20250901100000', outcome: 'Completed' },
    ]);
    expect(heard).toEqual([]);
    const errors = await repo.yaml<PolicyErrorsFile>('status/policy-errors.yaml');
    expect(errors?.errors.map((e) => [e.location, e.field, e.document])).toEqual([
      ['storage-locations/imds.yaml:11:12', 'spec.config.s3Url', 'StorageLocation/imds'],
      ['storage-locations/loot.yaml:15:23', 'spec.credential.fromEnv.accessKeyIdVar', 'StorageLocation/loot'],
    ]);
    expect(errors?.errors[0]?.message).toContain('link-local or cloud metadata address');
    expect(errors?.errors[1]?.message).toContain(
      '"LIFEBOAT_GIT_TOKEN" is not a variable a StorageLocation may read',
    );
    expect(await everyObject(repo.remote)).not.toContain(GIT_TOKEN);
  });
});
