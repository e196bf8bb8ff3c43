// The restore commands end to end, each run as its own `lifeboat` process against the test
// ground: plan to a file, apply that plan, then list, describe and read the log of the restore.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestorePlan } from '../src/restore/plan.js';
import type { RestoreResult } from '../src/restore/engine.js';
import { EXIT } from '../src/cli/exit-codes.js';
import {
  backupOf,
  cliGlobals,
  configMap,
  createAll,
  deleteNamespaces,
  deployment,
  localWorld,
  read,
  ref,
  runCli,
  secret,
  secretValue,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import { tempDir } from './ground/world.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

describe('lifeboat restore', () => {
  it('plans to a file, applies the plan, and lists, describes and logs the restore', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('cli');
    const objects: Seeded[] = [
      configMap(ns, 'settings', { color: 'blue' }),
      secret(ns, 'creds', { password: secretValue('pw') }),
      {
        gr: 'serviceaccounts',
        obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: ns } },
      },
      deployment(ns, 'web'),
    ];
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      ...objects,
    ]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);
    const globals = cliGlobals(w);
    const name = uniqueName('cli-restore');
    const planFile = join(await tempDir('cli-plan-'), 'plan.json');

    // plan -f json --out
    const planned = await runCli([
      ...globals,
      'restore',
      'plan',
      name,
      '--from-backup',
      backup.name,
      '-f',
      'json',
      '--out',
      planFile,
    ]);
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(EXIT.ok);
    const plan = JSON.parse(await readFile(planFile, 'utf8')) as RestorePlan;
    expect(plan).toMatchObject({ kind: 'RestorePlan', restoreName: name, backupName: backup.name });
    expect(planned.stdout).toBe(`Plan ${plan.hash} written to ${planFile}\n`);
    for (const s of objects) {
      expect(
        plan.items.find((i) => i.groupResource === s.gr && i.name === s.obj.metadata.name)?.action,
        ref(s),
      ).toBe('create');
    }
    // Planning changed nothing.
    for (const s of objects) expect(await read(w.kube, s), ref(s)).toBeNull();

    // The Markdown plan, for a pull request, carries the same hash.
    const markdown = await runCli([...globals, 'restore', 'plan', name, '--from-backup', backup.name]);
    expect(markdown.code).toBe(EXIT.ok);
    expect(markdown.stdout).toContain(`<!-- lifeboat-restore-plan hash=${plan.hash} -->`);
    expect(markdown.stdout).toContain(`# Restore plan \`${name}\``);

    // apply --plan
    const applied = await runCli([...globals, '-o', 'json', 'restore', 'apply', name, '--plan', planFile]);
    expect(applied.code, applied.stderr).toBe(EXIT.ok);
    const result = JSON.parse(applied.stdout) as RestoreResult;
    expect(result).toMatchObject({
      kind: 'RestoreResult',
      name,
      backupName: backup.name,
      phase: 'Completed',
      planHash: plan.hash,
    });
    expect(result.counts.failed).toBe(0);
    for (const s of objects) expect(await read(w.kube, s), ref(s)).not.toBeNull();

    // list
    const listed = await runCli([...globals, '-o', 'json', 'restore', 'list']);
    expect(listed.code).toBe(EXIT.ok);
    const rows = JSON.parse(listed.stdout) as {
      name: string;
      backup: string;
      phase: string;
      created: number;
      failed: number;
    }[];
    expect(rows).toEqual([
      expect.objectContaining({
        name,
        backup: backup.name,
        phase: 'Completed',
        created: result.counts.created,
        failed: 0,
      }),
    ]);
    const table = await runCli([...globals, 'restore', 'list']);
    expect(table.stdout).toMatch(new RegExp(`^NAME\\s+BACKUP\\s+STATUS`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^${name}\\s+${backup.name}\\s+Completed`, 'm'));

    // describe
    const described = await runCli([...globals, '-o', 'json', 'restore', 'describe', name]);
    expect(described.code).toBe(EXIT.ok);
    expect(JSON.parse(described.stdout)).toEqual(result);
    const describedTable = await runCli([...globals, 'restore', 'describe', name]);
    expect(describedTable.stdout).toContain(`Restore ${name} from backup ${backup.name}: Completed`);
    expect(describedTable.stdout).toMatch(new RegExp(`configmaps\\s+${ns}\\s+settings\\s+created`));

    // logs
    const logs = await runCli([...globals, 'restore', 'logs', name]);
    expect(logs.code).toBe(EXIT.ok);
    expect(logs.stdout).toContain('msg="restore started"');
    expect(logs.stdout).toContain(`planHash="${plan.hash}"`);
    expect(logs.stdout).toContain('msg="restore Completed"');

    // Mistakes get a clear message and their exit code.
    const missing = await runCli([...globals, 'restore', 'describe', 'no-such-restore']);
    expect(missing.code).toBe(EXIT.error);
    expect(missing.stderr).toContain('restore no-such-restore not found');
    const wrongPlan = await runCli([...globals, 'restore', 'apply', 'another-name', '--plan', planFile]);
    expect(wrongPlan.code).toBe(EXIT.usage);
    expect(wrongPlan.stderr).toContain(`is the plan of restore ${name}, not another-name`);
  });
});
