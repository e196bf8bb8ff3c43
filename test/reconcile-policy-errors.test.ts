// Malformed policy documents stall only themselves: the good schedule beside them backs up,
// status/policy-errors.yaml points at each bad one by file, line and column, and
// `lifeboat reconcile --once` exits 4 while there are policy errors and nothing else failed.
// (Every kind of malformed document is unit-tested in src/policy; here a few of them go
// through the whole reconciler.)
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes.js';
import type { PassReport } from '../src/reconcile/pass.js';
import { configMap, createAll, runCli } from './fixtures/restore-fixtures.js';
import {
  ALICE,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  newWorkdir,
  reconcilerFor,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { ground, newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

// Written by hand, so the positions below are where a person would look.
const brokenCron = (ns: string) => `apiVersion: lifeboat.dev/v1
kind: BackupSchedule
metadata:
  name: broken
spec:
  schedule: 'every night'
  template:
    includedNamespaces: [${ns}]
`;
const misspelled = (ns: string) => `apiVersion: lifeboat.dev/v1
kind: BackupSchedule
metadata:
  name: typo
spec:
  schedule: '0 1 * * *'
  templat:
    includedNamespaces: [${ns}]
`;
const notYaml = `apiVersion: lifeboat.dev/v1
kind: BackupSchedule
metadata: { name: unclosed
`;

interface PolicyErrorsFile {
  kind: string;
  observedRevision: string;
  errors: { location: string; field?: string; document?: string; message: string }[];
}

describe('malformed policy documents', () => {
  it('stall only themselves; status lists them; `reconcile --once` exits 4', async () => {
    const ns = await newNamespace('policy');
    await createAll(await kube.get(), [configMap(ns, 'settings', { color: 'teal' })]);
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/good.yaml': scheduleDoc('good', { cron: '0 2 * * *', namespaces: [ns] }),
      'schedules/broken.yaml': brokenCron(ns),
      'schedules/typo.yaml': misspelled(ns),
      'schedules/unclosed.yaml': notYaml,
    });
    const policyCommit = await repo.sha();
    const dataDir = await tempDir('policy-data-');
    const r = await reconcilerFor(repo, { dataDir, kube, clock: new FakeClock('2025-09-01T10:00:00Z') });

    const report = await r.pass();
    expect(report.events).toEqual([
      { action: 'backup', subject: 'good-20250901100000', outcome: 'Completed' },
    ]);
    expect(report.policyErrors).toBe(4);
    const errors = await repo.yaml<PolicyErrorsFile>('status/policy-errors.yaml');
    expect(errors).toMatchObject({ kind: 'PolicyErrors', observedRevision: policyCommit });
    expect(errors?.errors.map((e) => [e.location, e.field, e.document])).toEqual([
      ['schedules/broken.yaml:6:13', 'spec.schedule', 'BackupSchedule/broken'],
      ['schedules/typo.yaml:5:1', 'spec.template', 'BackupSchedule/typo'],
      ['schedules/typo.yaml:7:3', 'spec.templat', 'BackupSchedule/typo'],
      ['schedules/unclosed.yaml:4:1', undefined, 'BackupSchedule/unclosed'],
    ]);
    expect(errors?.errors[0]?.message).toContain('every night');
    expect(errors?.errors[2]?.message).toContain('did you mean "template"');
    // Only the good schedule has status; none of the bad ones made a backup.
    expect(await repo.files('status/schedules/')).toEqual(['status/schedules/good.yaml']);
    expect(await repo.files('status/backups/')).toEqual(['status/backups/good-20250901100000.yaml']);

    // The CLI, as a cron job or CI would run it: policy errors only → exit code 4.
    const cli = (workdir: string) =>
      runCli([
        '--kubeconfig',
        ground().kubeconfigPath,
        'reconcile',
        '--once',
        '--repo',
        repo.remote,
        '--workdir',
        workdir,
        '--data-dir',
        dataDir,
        '-o',
        'json',
      ]);
    const workdir = await newWorkdir();
    const failing = await cli(workdir);
    expect(failing.stderr).toBe('');
    expect(failing.code).toBe(EXIT.invalid);
    const failingReport = JSON.parse(failing.stdout) as PassReport;
    expect(failingReport.policyErrors).toBe(4);
    expect(failingReport.events.every((e) => e.error === undefined)).toBe(true);
    expect(await repo.files('status/schedules/')).toEqual(['status/schedules/good.yaml']);

    // Alice fixes one file and removes the others: no errors left, exit 0, the list is gone.
    await (
      await repo.as(ALICE)
    ).push(
      {
        'schedules/broken.yaml': scheduleDoc('broken', { cron: '0 3 * * *', namespaces: [ns], paused: true }),
        'schedules/typo.yaml': null,
        'schedules/unclosed.yaml': null,
      },
      { message: 'fix the schedules' },
    );
    const fixed = await cli(workdir);
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(EXIT.ok);
    expect((JSON.parse(fixed.stdout) as PassReport).policyErrors).toBe(0);
    expect(await repo.file('status/policy-errors.yaml')).toBeUndefined();
    expect(await repo.files('status/schedules/')).toEqual([
      'status/schedules/broken.yaml',
      'status/schedules/good.yaml',
    ]);
  });
});
