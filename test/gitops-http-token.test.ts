// The Git token (LIFEBOAT_GIT_TOKEN) never lands on disk: a reconcile pass against a real
// smart-HTTP Git server that demands it clones, reads and pushes status, and afterwards
// neither .git/config nor any file under .git holds the token, and the remote URL Git stores
// is the plain one. The token travels as an Authorization header set in each Git process's
// environment, scoped to the remote's URL.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { git } from './gitops-fixture.js';
import { serveGitOverHttp, type GitHttpServer } from './fixtures/git-http-server.js';
import {
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  newWorkdir,
  reconcilerFor,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
let server: GitHttpServer | undefined;
afterEach(async () => {
  await kube.close();
  await server?.close();
});

const TOKEN = 'glpat-TOKEN-UNDER-TEST-93b1c7';

async function everyFileUnder(dir: string): Promise<string> {
  const texts: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) texts.push(await readFile(join(entry.parentPath, entry.name), 'latin1'));
  }
  return texts.join('\n');
}

describe('the Git token', () => {
  it('authenticates clone, fetch and push over HTTP, and is never written under .git', async () => {
    const ns = await newNamespace('token');
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/nightly.yaml': scheduleDoc('nightly', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    server = await serveGitOverHttp(repo.remote, TOKEN);
    const dir = await newWorkdir();
    const wc = new WorkingCopy({
      remoteUrl: server.url,
      httpToken: TOKEN,
      dir,
      pushRetry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
    const r = await reconcilerFor(repo, {
      dataDir: await tempDir('token-data-'),
      kube,
      wc,
      clock: new FakeClock('2025-09-01T10:00:00Z'),
    });
    const report = await r.pass();
    expect(report.events).toEqual([
      { action: 'backup', subject: 'nightly-20250901100000', outcome: 'Completed' },
    ]);
    // The status commit went through the authenticated server to the remote.
    expect(await repo.files('status/backups/')).toEqual(['status/backups/nightly-20250901100000.yaml']);
    expect(server.authorizations.some((a) => a !== '')).toBe(true);

    expect(await readFile(join(dir, '.git', 'config'), 'utf8')).not.toContain(TOKEN);
    const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    const onDisk = await everyFileUnder(join(dir, '.git'));
    expect(onDisk).not.toContain(TOKEN);
    expect(onDisk).not.toContain(basic);
    expect((await git(dir, ['remote', 'get-url', 'origin'])).trim()).toBe(server.url);
    // Git itself, run without lifeboat's environment, holds no credentials for the remote.
    await expect(git(dir, ['fetch', 'origin'])).rejects.toThrow();
  });

  it('is refused by the server when wrong, so the test above proves the token was sent', async () => {
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
    });
    server = await serveGitOverHttp(repo.remote, TOKEN);
    const wc = new WorkingCopy({ remoteUrl: server.url, httpToken: 'wrong', dir: await newWorkdir() });
    await expect(wc.sync()).rejects.toThrow(/auth|401|credentials|token/i);
  });
});
