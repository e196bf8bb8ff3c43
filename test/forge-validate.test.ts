// `lifeboat validate --forge …` in CI: the result becomes the lifeboat/validate status of the
// commit on the real Gitea — success for a valid branch, failure naming the first error — and a
// token that may not set statuses fails the command with an error naming the call.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localLocation } from './fixtures/policy-repo.js';
import { cloneAs, repoApi } from './fixtures/forge-people.js';
import type { ForgeUser } from './ground/context.js';
import { createForgeRepo, startForge, type Forge } from './ground/forge.js';
import { tempDir, uniqueName } from './ground/world.js';

const run = promisify(execFile);
const cli = join(process.cwd(), 'bin/lifeboat.js');

let forge: Forge;
beforeAll(async () => {
  forge = await startForge({ dir: join(await tempDir('gitea-'), 'gitea') });
}, 300_000);
afterAll(() => forge?.stop());

describe('lifeboat validate --forge', () => {
  it('sets lifeboat/validate on the commit it validated', async () => {
    const info = forge.info;
    const [alice] = info.users as [ForgeUser];
    const repo = await createForgeRepo(info, uniqueName('validate'));
    const api = repoApi(info, repo);
    const people = await cloneAs(info, alice, repo.cloneUrl);
    const good = await people.push(
      { 'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }) },
      'main',
      'a location',
    );
    const bad = await people.push(
      {
        'schedules/typo.yaml':
          'apiVersion: lifeboat.dev/v1\nkind: BackupSchedule\nmetadata:\n  name: typo\nspec:\n  scheduel: "0 2 * * *"\n',
      },
      'feature/typo',
      'a schedule with a typo',
    );
    const validate = async (files: Record<string, string>, sha: string, env: NodeJS.ProcessEnv) => {
      const dir = await tempDir('validate-');
      for (const [path, text] of Object.entries(files)) {
        await mkdir(join(dir, path, '..'), { recursive: true });
        await writeFile(join(dir, path), text);
      }
      const args = [cli, 'validate', dir, '--forge', 'gitea', '--forge-url', info.url];
      args.push('--forge-repo', `${repo.owner}/${repo.name}`, '--forge-commit', sha);
      return run(process.execPath, args, { env: { ...process.env, ...env } }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    };
    const statusOf = async (sha: string) =>
      (
        await api<{ context: string; status: string; description: string }[]>(
          'GET',
          `/commits/${sha}/statuses`,
          alice,
        )
      ).body.find((s) => s.context === 'lifeboat/validate');
    const location = localLocation('primary', { path: 'backups', isDefault: true });
    const ok = await validate({ 'storage-locations/primary.yaml': location }, good, {
      LIFEBOAT_FORGE_TOKEN: alice.token,
    });
    expect(ok.code).toBe(0);
    expect(await statusOf(good)).toMatchObject({
      status: 'success',
      description: '1 valid documents, no errors',
    });

    const failed = await validate(
      {
        'storage-locations/primary.yaml': location,
        'schedules/typo.yaml':
          'apiVersion: lifeboat.dev/v1\nkind: BackupSchedule\nmetadata:\n  name: typo\nspec:\n  scheduel: "0 2 * * *"\n',
      },
      bad,
      { LIFEBOAT_FORGE_TOKEN: alice.token },
    );
    expect(failed.code).toBe(4);
    const st = await statusOf(bad);
    expect(st?.status).toBe('failure');
    expect(st?.description).toMatch(/^\d+ error\(s\); first: schedules\/typo\.yaml:\d+: /);

    // A token that may only read: the command fails, naming the call, never printing the token.
    const res = await fetch(`${info.url}/api/v1/users/${alice.username}/tokens`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: uniqueName('read-only'), scopes: ['read:repository'] }),
    });
    expect(res.status).toBe(201);
    const readOnly = ((await res.json()) as { sha1: string }).sha1;
    const refused = await validate({ 'storage-locations/primary.yaml': location }, good, {
      LIFEBOAT_FORGE_TOKEN: readOnly,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`POST /repos/${repo.owner}/${repo.name}/statuses/${good}: HTTP 403`);
    expect(refused.stderr).not.toContain(readOnly);
  }, 300_000);
});
