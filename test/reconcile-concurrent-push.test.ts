// A person pushes while the reconciler writes status: their commit lands between the
// reconciler's sync and its push. The status commit is rebuilt on top of theirs; nothing of
// theirs is lost, nothing is forced, and the next pass sees their change.
import { afterEach, describe, expect, it } from 'vitest';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { configMap, createAll } from './fixtures/restore-fixtures.js';
import {
  BOB,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  newWorkdir,
  reconcilerFor,
  scheduleDoc,
  type PersonClone,
  type PolicyRepo,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

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

async function world(): Promise<{ repo: PolicyRepo; ns: string; bob: PersonClone; dataDir: string }> {
  const ns = await newNamespace('push');
  await createAll(await kube.get(), [configMap(ns, 'settings', { color: 'red' })]);
  const repo = await createPolicyRepo({
    'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
    'schedules/nightly.yaml': scheduleDoc('nightly', { cron: '0 2 * * *', namespaces: [ns] }),
  });
  return { repo, ns, bob: await repo.as(BOB), dataDir: await tempDir('push-data-') };
}

describe('a person pushes while the reconciler writes status', () => {
  it('lands both commits: theirs intact, the status commit on top, their change seen next pass', async () => {
    const { repo, ns, bob, dataDir } = await world();
    const wc = new InterruptedWorkingCopy({
      remoteUrl: repo.remote,
      dir: await newWorkdir(),
      pushRetry: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    const clock = new FakeClock('2025-04-01T12:00:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock, wc });
    const policyCommit = await repo.sha();

    // Bob adds a schedule after the reconciler fetched, before it pushes its status.
    const weekly = scheduleDoc('weekly', { cron: '0 3 * * 0', namespaces: [ns], paused: true });
    let bobsCommit = '';
    wc.onSynced = async () => {
      bobsCommit = await bob.push({ 'schedules/weekly.yaml': weekly }, { message: 'add a weekly schedule' });
    };
    const report = await r.pass();

    expect(bobsCommit).not.toBe('');
    expect(report.events).toEqual([
      { action: 'backup', subject: 'nightly-20250401120000', outcome: 'Completed' },
    ]);
    // The pass observed the policies before Bob's push, and says so.
    expect(report.revision).toBe(policyCommit);
    expect(wc.pushRetries).toBe(1);
    const [status, bobs, policies] = await repo.commits();
    expect(status).toMatchObject({ sha: report.statusCommit, parents: [bobsCommit], author: 'lifeboat' });
    expect(bobs).toMatchObject({ sha: bobsCommit, parents: [policyCommit], author: BOB.name });
    expect(policies?.sha).toBe(policyCommit);
    expect(await repo.file('schedules/weekly.yaml')).toBe(weekly);
    expect(await repo.yaml('status/schedules/nightly.yaml')).toMatchObject({
      observedRevision: policyCommit,
    });

    // The next pass reads Bob's schedule and records the revision that has it; nightly's status
    // still reflects the commit that last changed nightly.
    await r.pass();
    expect(await repo.yaml('status/schedules/weekly.yaml')).toMatchObject({
      observedRevision: bobsCommit,
      paused: true,
    });
    expect(await repo.yaml('status/schedules/nightly.yaml')).toMatchObject({
      observedRevision: policyCommit,
    });
    expect(await repo.file('schedules/weekly.yaml')).toBe(weekly);
  });

  it('loses none of a burst of pushes made while a pass runs', async () => {
    const { repo, bob, dataDir } = await world();
    const wc = new InterruptedWorkingCopy({
      remoteUrl: repo.remote,
      dir: await newWorkdir(),
      pushRetry: { baseDelayMs: 1, maxDelayMs: 20, attempts: 20 },
    });
    const clock = new FakeClock('2025-04-01T12:00:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock, wc });
    const start = await repo.sha();

    // Right after the reconciler's sync Bob starts pushing notes, a bounded number, one after
    // another, while the pass backs up and writes status.
    const burst = 8;
    let pushes: Promise<string[]> | undefined;
    wc.onSynced = () => {
      pushes = (async () => {
        const shas: string[] = [];
        for (let i = 0; i < burst; i++) {
          shas.push(await bob.push({ [`notes/note-${i}.md`]: `note ${i}\n` }, { message: `note ${i}` }));
        }
        return shas;
      })();
      return Promise.resolve();
    };
    const report = await r.pass();
    const bobsCommits = await (pushes ?? Promise.reject(new Error('the burst never started')));

    // At least Bob's first push landed after the sync, so the reconciler's first push lost.
    expect(wc.pushRetries).toBeGreaterThanOrEqual(1);
    expect(report.statusCommit).toBeDefined();
    const history = await repo.commits(`${start ?? ''}..main`);
    expect(history.map((c) => c.sha).sort()).toEqual([...bobsCommits, report.statusCommit ?? ''].sort());
    // One line of history: every commit has one parent, and Bob's commits keep their order.
    expect(history.every((c) => c.parents.length === 1)).toBe(true);
    const bobsInOrder = history
      .filter((c) => c.author === BOB.name)
      .map((c) => c.sha)
      .reverse();
    expect(bobsInOrder).toEqual(bobsCommits);
    for (let i = 0; i < burst; i++) expect(await repo.file(`notes/note-${i}.md`)).toBe(`note ${i}\n`);
    expect(await repo.yaml('status/schedules/nightly.yaml')).toMatchObject({
      lastBackup: { name: 'nightly-20250401120000', phase: 'Completed' },
    });
  });
});
