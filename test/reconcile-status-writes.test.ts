// Status in Git as an audit log that cannot quietly lose a backup. A pass after an unrelated
// commit writes nothing; a status write that never landed (the remote refused it) is recovered
// by the next pass with trailers audit reads; a force-push that drops status commits still
// leaves every backup in `lifeboat audit`, from the bucket, marked as such.
import { execFile } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { auditEvents, type AuditEvent } from '../src/gitops/audit-log.js';
import { configMap, createAll } from './fixtures/restore-fixtures.js';
import {
  BOB,
  createPolicyRepo,
  DAY,
  FakeClock,
  KubeHandle,
  localLocation,
  newWorkdir,
  reconcilerFor,
  scheduleDoc,
  type PersonClone,
  type PolicyRepo,
} from './fixtures/policy-repo.js';
import { git } from './gitops-fixture.js';
import { ground, newNamespace, tempDir } from './ground/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// The compiled CLI, as users run it (global setup builds dist/ when stale).
const cli = join(root, 'bin', 'lifeboat.js');
const kube = new KubeHandle();
afterEach(() => kube.close());

/** A working copy that lets `onSynced` run right after each sync, as if a person pushed then. */
class InterruptedWorkingCopy extends WorkingCopy {
  onSynced: (() => Promise<void>) | undefined;
  override async sync(): Promise<string> {
    const head = await super.sync();
    const hook = this.onSynced;
    this.onSynced = undefined;
    await hook?.();
    return head;
  }
}

async function world(): Promise<{ repo: PolicyRepo; bob: PersonClone; dataDir: string }> {
  const ns = await newNamespace('status');
  await createAll(await kube.get(), [configMap(ns, 'settings', { color: 'red' })]);
  const repo = await createPolicyRepo({
    'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
    'schedules/nightly.yaml': scheduleDoc('nightly', { cron: '0 2 * * *', namespaces: [ns] }),
  });
  return { repo, bob: await repo.as(BOB), dataDir: await tempDir('status-data-') };
}

/** The backups audit reports as taken, with where it found each. */
function taken(events: readonly AuditEvent[]): string[] {
  return events
    .filter((e) => e.type === 'backup-taken')
    .map((e) => `${e.backup ?? ''} ${e.source ?? 'git'}`)
    .sort();
}

async function auditInGit(repo: PolicyRepo): Promise<AuditEvent[]> {
  const wc = new WorkingCopy({ remoteUrl: repo.remote, dir: await newWorkdir() });
  await wc.sync();
  return auditEvents(wc);
}

/** `lifeboat audit -o json` as a person runs it, with the reconciler's data directory. */
function auditCli(repo: PolicyRepo, dataDir: string, workdir: string): Promise<AuditEvent[]> {
  const args = [cli, 'audit', '--repo', repo.remote, '--workdir', workdir];
  args.push('--data-dir', dataDir, '--kubeconfig', ground().kubeconfigPath, '-o', 'json');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root }, (err, stdout, stderr) => {
      if (err) reject(new Error(`lifeboat audit failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as AuditEvent[]);
    });
  });
}

describe('status writes', () => {
  it('a pass after an unrelated human commit commits nothing', async () => {
    const { repo, bob, dataDir } = await world();
    const clock = new FakeClock('2025-04-01T12:00:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock });
    const first = await r.pass();
    expect(first.statusCommit).toBeDefined();

    const readme = await bob.push({ 'README.md': '# our backup policies\n' }, { message: 'docs: a README' });
    const second = await r.pass();
    expect(second.actions).toEqual([]);
    expect(second.statusCommit).toBeUndefined();
    expect(await repo.sha()).toBe(readme);
    // A change to another schedule touches only that schedule's status.
    const weekly = scheduleDoc('weekly', { cron: '0 3 * * 0', namespaces: ['x'], paused: true });
    const added = await bob.push({ 'schedules/weekly.yaml': weekly }, { message: 'add weekly' });
    const third = await r.pass();
    const changed = (await git(repo.remote, ['diff', '--name-only', added, third.statusCommit ?? ''])).trim();
    expect(changed.split('\n')).toEqual(['status/schedules/weekly.yaml']);
  });

  it('a status write the remote refused is recovered by the next pass, racing pushes and all', async () => {
    const { repo, bob, dataDir } = await world();
    const clock = new FakeClock('2025-04-01T12:00:00Z');
    const wc = new InterruptedWorkingCopy({
      remoteUrl: repo.remote,
      dir: await newWorkdir(),
      pushRetry: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    const r = await reconcilerFor(repo, { dataDir, kube, clock, wc });

    // The remote refuses every push for one pass (a real pre-receive hook): the pass backs up,
    // and its status write never lands.
    const hook = join(repo.remote, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "closed for maintenance" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    await expect(r.pass()).rejects.toThrow();
    await rm(hook);
    expect(taken(await auditInGit(repo))).toEqual([]);

    // The next day's pass, with Bob pushing right after its sync: its push loses the race, is
    // rebuilt on top of Bob's commit, and lands, recording both backups.
    clock.advance(DAY);
    wc.onSynced = async () => {
      await bob.push({ 'notes/a.md': 'a\n' }, { message: 'note a' });
    };
    const report = await r.pass();
    expect(report.statusCommit).toBeDefined();
    expect(wc.pushRetries).toBeGreaterThanOrEqual(1);
    const [commit] = await repo.commits();
    expect(commit?.trailers['Lifeboat-Action']?.sort()).toEqual(['backup', 'record-backup']);
    expect(taken(await auditInGit(repo))).toEqual([
      'nightly-20250401120000 git',
      'nightly-20250402020000 git',
    ]);
  });

  it('a force-push that drops status commits: audit still lists every backup, from the bucket', async () => {
    const { repo, bob, dataDir } = await world();
    const clock = new FakeClock('2025-04-01T12:00:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock });
    const policies = await repo.sha();
    await r.pass();
    clock.advance(DAY);
    await r.pass();
    const workdir = join(await tempDir('audit-'), 'repo');
    expect(taken(await auditCli(repo, dataDir, workdir))).toEqual([
      'nightly-20250401120000 git',
      'nightly-20250402020000 git',
    ]);

    // Bob resets main to the policies and force-pushes: both status commits are gone.
    await git(bob.dir, ['fetch', '--quiet', 'origin']);
    await git(bob.dir, ['push', '--quiet', '--force', 'origin', `${policies ?? ''}:refs/heads/main`]);
    expect(taken(await auditInGit(repo))).toEqual([]);
    const fromBucket = await auditCli(repo, dataDir, workdir);
    expect(taken(fromBucket)).toEqual(['nightly-20250401120000 bucket', 'nightly-20250402020000 bucket']);
    expect(fromBucket.find((e) => e.source === 'bucket')).toMatchObject({
      commit: '',
      summary: 'in storage location primary (Completed), not recorded in Git',
    });

    // The next pass records them again in Git; audit shows each once.
    await r.pass();
    expect(taken(await auditCli(repo, dataDir, workdir))).toEqual([
      'nightly-20250401120000 git',
      'nightly-20250402020000 git',
    ]);
  });
});
