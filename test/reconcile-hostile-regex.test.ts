// A resourceNameRegex written to backtrack catastrophically (`^(a+)+$` against a name of 60
// a's and a dash), pushed on an unreviewed restore/* branch, is planned like any other: the
// pass finishes and /healthz keeps answering while it runs. On V8's backtracking engine this
// pass did not return (the test timed out); RE2 matches in linear time (ADR 0012).
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startObserveServer } from '../src/observe/server.js';
import type { RestorePlan } from '../src/restore/plan.js';
import { configMap, createAll } from './fixtures/restore-fixtures.js';
import {
  BOB,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  reconcilerFor,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

const HOSTILE_NAME = `${'a'.repeat(60)}-x`;

describe('a catastrophic-backtracking resourceNameRegex on a review branch', () => {
  it('is planned; the pass finishes and /healthz answers throughout', async () => {
    const ns = await newNamespace('regex');
    await createAll(await kube.get(), [
      configMap(ns, HOSTILE_NAME, { k: 'v' }),
      configMap(ns, 'aaaa', { k: 'v' }),
    ]);
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/nightly.yaml': scheduleDoc('nightly', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const r = await reconcilerFor(repo, {
      dataDir: await tempDir('regex-data-'),
      kube,
      clock: new FakeClock('2025-09-01T10:00:00Z'),
    });
    expect((await r.pass()).events).toEqual([
      { action: 'backup', subject: 'nightly-20250901100000', outcome: 'Completed' },
    ]);

    const restore = stringify({
      apiVersion: 'lifeboat.dev/v1',
      kind: 'Restore',
      metadata: { name: 'hostile' },
      spec: {
        backupName: 'nightly-20250901100000',
        includedNamespaces: [ns],
        namespaceMapping: { [ns]: `${ns}-copy` },
        resourceModifiers: {
          version: 'v1',
          resourceModifierRules: [
            {
              conditions: { groupResource: 'configmaps', resourceNameRegex: '^(a+)+$' },
              patches: [{ operation: 'add', path: '/data/matched', value: '"yes"' }],
            },
          ],
        },
      },
    });
    await (
      await repo.as(BOB)
    ).push({ 'restores/hostile.yaml': restore }, { message: 'restore', branch: 'restore/hostile' });

    const server = await startObserveServer({
      port: 0,
      host: '127.0.0.1',
      registry: new Registry(),
      readiness: { notReadyReason: () => undefined },
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    let passDone = false;
    let answersDuringPass = 0;
    const poll = (async () => {
      while (!passDone) {
        const res = await fetch(url);
        if (res.status === 200 && !passDone) answersDuringPass++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      const report = await r.pass();
      passDone = true;
      await poll;
      expect(report.events).toEqual([{ action: 'plan-restore', subject: 'hostile', outcome: 'planned' }]);
    } finally {
      passDone = true;
      await new Promise((resolve) => server.close(resolve));
    }
    expect(answersDuringPass).toBeGreaterThan(0);

    // The rule applies to the short name it matches and not to the hostile one.
    const plan = JSON.parse(
      (await repo.file('plans/hostile.json', 'restore/hostile')) ?? '{}',
    ) as RestorePlan;
    const changesOf = (name: string) => plan.items.find((i) => i.name === name)?.changes ?? [];
    expect(changesOf('aaaa')).toContainEqual(expect.objectContaining({ path: 'data.matched', after: 'yes' }));
    expect(changesOf(HOSTILE_NAME).map((c) => c.path)).not.toContain('data.matched');
  });
});
