// A symlink committed to the policy repository is refused, never followed: the reconciler
// names it in status/policy-errors.yaml and `lifeboat validate` prints it, and the file it
// points to (here a file outside the repository, standing in for the reconciler's own
// service-account token or a mounted Secret) reaches neither Git nor the command's output.
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git } from './gitops-fixture.js';
import { runCli } from './fixtures/restore-fixtures.js';
import {
  ALICE,
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
afterEach(() => kube.close());

interface PolicyErrorsFile {
  errors: { location: string; field?: string; document?: string; message: string }[];
}

// If this file were read, its kind would be quoted back in an "unknown kind" error.
const MARKER = 'OUTSIDE-THE-REPO-7f3a9c';
const outsideText = `apiVersion: lifeboat.dev/v1\nkind: ${MARKER}\nmetadata: { name: ${MARKER.toLowerCase()} }\n`;

describe('a symlink in the policy repository', () => {
  it('is refused by name; its target reaches neither status in Git nor `lifeboat validate`', async () => {
    const ns = await newNamespace('symlink');
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/good.yaml': scheduleDoc('good', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const outside = join(await tempDir('outside-'), 'token.yaml');
    await writeFile(outside, outsideText);
    const alice = await repo.as(ALICE);
    await git(alice.dir, ['config', 'core.symlinks', 'true']);
    await symlink(outside, join(alice.dir, 'schedules', 'leak.yaml'));
    await git(alice.dir, ['add', '--', 'schedules/leak.yaml']);
    await git(alice.dir, ['commit', '--quiet', '-m', 'a symlink'], { as: ALICE });
    await git(alice.dir, ['push', '--quiet', 'origin', 'HEAD:refs/heads/main']);

    const dataDir = await tempDir('symlink-data-');
    const r = await reconcilerFor(repo, { dataDir, kube, clock: new FakeClock('2025-09-01T10:00:00Z') });
    const report = await r.pass();
    expect(report.policyErrors).toBe(1);
    // The good schedule still works.
    expect(report.events).toEqual([
      { action: 'backup', subject: 'good-20250901100000', outcome: 'Completed' },
    ]);
    const errors = await repo.yaml<PolicyErrorsFile>('status/policy-errors.yaml');
    expect(errors?.errors).toEqual([
      expect.objectContaining({
        location: 'schedules/leak.yaml:1:1',
        message: expect.stringContaining('symbolic link'),
      }),
    ]);
    expect(await everyObject(repo.remote)).not.toContain(MARKER);
    expect(await everyObject(repo.remote)).not.toContain(MARKER.toLowerCase());

    const validate = await runCli(['validate', alice.dir]);
    expect(validate.code).not.toBe(0);
    expect(validate.stdout + validate.stderr).toContain('schedules/leak.yaml');
    expect(validate.stdout + validate.stderr).toContain('symbolic link');
    expect(validate.stdout + validate.stderr).not.toContain(MARKER);
    expect(validate.stdout + validate.stderr).not.toContain(MARKER.toLowerCase());
  });
});
