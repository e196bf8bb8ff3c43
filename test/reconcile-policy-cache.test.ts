// `lifeboat reconcile --once` keeps what it parsed and checked in its workdir (ADR 0050): the
// next pass in the same workdir reads the policies' findings from there for unchanged files,
// and must report exactly what a pass in a fresh workdir reports, for a changed file with its
// line and column, and with a corrupt cache file.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes.js';
import { policyCacheFilePath } from '../src/policy/policy-cache-file.js';
import type { PassReport } from '../src/reconcile/pass.js';
import { runCli } from './fixtures/restore-fixtures.js';
import { ALICE, createPolicyRepo, localLocation, newWorkdir, scheduleDoc } from './fixtures/policy-repo.js';
import { ground, tempDir } from './ground/world.js';

interface PolicyErrorsFile {
  errors: { location: string; field?: string; document?: string; message: string }[];
}

describe('the policy cache file of reconcile --once', () => {
  it('gives what a pass without it gives: after a change, and when the file is corrupt', async () => {
    // Paused schedules: the passes observe, decide and write status, and never need a backup.
    const files: Record<string, string> = {
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
    };
    for (let i = 0; i < 20; i++)
      files[`schedules/s${i}.yaml`] = scheduleDoc(`s${i}`, {
        cron: `${i} 2 * * *`,
        namespaces: ['a'],
        paused: true,
      });
    const repo = await createPolicyRepo(files);
    const dataDir = await tempDir('policy-cache-data-');
    const cli = async (workdir: string) => {
      const run = await runCli([
        ...['--kubeconfig', ground().kubeconfigPath, 'reconcile', '--once'],
        ...['--repo', repo.remote, '--workdir', workdir, '--data-dir', dataDir, '-o', 'json'],
      ]);
      expect(run.stderr).toBe('');
      return { code: run.code, report: JSON.parse(run.stdout) as PassReport };
    };
    const workdir = await newWorkdir();
    const cacheFile = policyCacheFilePath(workdir);

    expect((await cli(workdir)).code).toBe(EXIT.ok);
    const written = await stat(cacheFile);
    expect(written.size).toBeGreaterThan(0);
    // A pass over the unchanged repository changes nothing, so it leaves the file as it was.
    expect((await cli(workdir)).code).toBe(EXIT.ok);
    expect((await stat(cacheFile)).mtimeMs).toBe(written.mtimeMs);

    // Alice breaks one schedule and copies another's name: the pass with the cache reports
    // both at their lines, as a pass in a fresh workdir does.
    await (
      await repo.as(ALICE)
    ).push(
      {
        'schedules/s3.yaml': scheduleDoc('s3', { cron: 'every night', namespaces: ['a'], paused: true }),
        'schedules/zz.yaml': scheduleDoc('s7', { cron: '0 4 * * *', namespaces: ['a'], paused: true }),
      },
      { message: 'break s3, copy s7' },
    );
    const cached = await cli(workdir);
    expect(cached.code).toBe(EXIT.invalid);
    expect(cached.report.policyErrors).toBe(2);
    const errors = await repo.yaml<PolicyErrorsFile>('status/policy-errors.yaml');
    const locations = errors?.errors.map((e) => [e.location, e.field, e.document]);
    // s7.yaml was taken from the cache: where its name is comes from there.
    expect(locations).toEqual([
      ['schedules/s3.yaml:6:13', 'spec.schedule', 'BackupSchedule/s3'],
      ['schedules/zz.yaml:4:9', 'metadata.name', 'BackupSchedule/s7'],
    ]);
    expect(errors?.errors[1]?.message).toContain('first defined at schedules/s7.yaml:4:9');
    const fresh = await cli(await newWorkdir());
    expect(fresh.code).toBe(EXIT.invalid);
    expect(fresh.report.policyErrors).toBe(cached.report.policyErrors);
    expect((await repo.yaml<PolicyErrorsFile>('status/policy-errors.yaml'))?.errors).toEqual(errors?.errors);

    // A corrupt cache file is ignored and replaced; the findings stay the same.
    const bytes = await readFile(cacheFile);
    await writeFile(cacheFile, bytes.subarray(0, bytes.length >> 1));
    const afterCorrupt = await cli(workdir);
    expect(afterCorrupt.code).toBe(EXIT.invalid);
    expect((await repo.yaml<PolicyErrorsFile>('status/policy-errors.yaml'))?.errors).toEqual(errors?.errors);
    // Rewritten whole: the next pass uses it (changes nothing, so it does not write it again).
    const rewritten = await stat(cacheFile);
    expect(rewritten.size).toBeGreaterThan(bytes.length >> 1);
    expect((await cli(workdir)).code).toBe(EXIT.invalid);
    expect((await stat(cacheFile)).mtimeMs).toBe(rewritten.mtimeMs);
  });
});
