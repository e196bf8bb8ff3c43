import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitError } from '../src/gitops/git-errors.js';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { createSandbox } from './gitops-fixture.js';
import type { Sandbox } from './gitops-fixture.js';

const TOKEN = 'ghp_s3cr3tT0kenValue';

let sandbox: Sandbox;
let server: Server | undefined;

beforeEach(async () => {
  sandbox = await createSandbox();
});

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  await sandbox.cleanup();
});

async function syncError(remoteUrl: string, dir = sandbox.workDir()): Promise<GitError> {
  const wc = new WorkingCopy({ remoteUrl, dir, timeoutMs: 20_000 });
  const err: unknown = await wc.sync().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GitError);
  return err as GitError;
}

function expectNoSecret(value: unknown): void {
  const renderings = [String(value), inspect(value, { depth: 5 }), JSON.stringify(value) ?? ''];
  if (value instanceof Error) renderings.push(value.stack ?? '');
  for (const text of renderings) expect(text).not.toContain(TOKEN);
}

describe('Git errors', () => {
  it("calls a remote path that is not a repository unreachable, with Git's reason", async () => {
    const err = await syncError(join(sandbox.root, 'no-such-repo.git'));
    expect(err.kind).toBe('unreachable');
    expect(err.retryable).toBe(true);
    expect(err.operation).toBe('clone');
    expect(err.message).toMatch(/^git clone failed \(unreachable\): .*no-such-repo\.git' does not exist/);
  });

  it('calls a remote that disappeared after the clone unreachable too', async () => {
    const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
    await wc.sync();
    await rm(sandbox.remote, { recursive: true, force: true });
    await expect(wc.sync()).rejects.toMatchObject({
      kind: 'unreachable',
      operation: 'fetch',
      message: expect.stringContaining('does not appear to be a git repository'),
    });
  });

  it('keeps credentials of the remote URL out of errors and out of the WorkingCopy', async () => {
    const url = `https://lifeboat-bot:${TOKEN}@127.0.0.1:1/acme/policies.git`;
    const err = await syncError(url);
    expect(err.kind).toBe('unreachable');
    expectNoSecret(err);
    const wc = new WorkingCopy({ remoteUrl: url, dir: sandbox.workDir() });
    expect(wc.remote).toBe('https://127.0.0.1:1/acme/policies.git');
    expectNoSecret(wc);
  });

  it('reports rejected credentials as auth, without prompting and without the token', async () => {
    server = createServer((_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
      res.end('denied');
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    const withToken = await syncError(
      `http://bot:${TOKEN}@127.0.0.1:${port}/acme/policies.git`,
      sandbox.workDir('a'),
    );
    expect(withToken.kind).toBe('auth');
    expect(withToken.message).toContain('check the token or SSH key');
    expectNoSecret(withToken);

    // Without credentials Git would ask for a user name; GIT_TERMINAL_PROMPT=0 makes it fail instead.
    const withoutToken = await syncError(`http://127.0.0.1:${port}/acme/policies.git`, sandbox.workDir('b'));
    expect(withoutToken.kind).toBe('auth');
  });

  it('calls a non-empty directory that is not a clone a config error', async () => {
    const dir = sandbox.workDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'precious.txt'), 'do not touch\n');
    const err = await syncError(sandbox.remote, dir);
    expect(err.kind).toBe('config');
    expect(err.retryable).toBe(false);
  });
});
