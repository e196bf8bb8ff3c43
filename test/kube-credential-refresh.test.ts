// Credentials that change while lifeboat runs — a cloud exec plugin's short-lived token, a
// rotated service-account token file — are read again when the API server answers 401, and
// the request is repeated; wrong credentials are not re-read more than once per interval.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubeApiError, KubeClient } from '../src/kube/client.js';
import { discoverResources } from '../src/backup/discover.js';
import { ground, tempDir } from './ground/world.js';

interface GroundKubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority': string } }[];
  users: { user: { token: string } }[];
}

/** A kubeconfig for the test apiserver whose user reads its token from a file. */
async function tokenFileKubeconfig(): Promise<{ kubeconfig: string; tokenFile: string; token: string }> {
  const config = parse(await readFile(ground().kubeconfigPath, 'utf8')) as GroundKubeconfig;
  const cluster = config.clusters[0]?.cluster;
  const token = config.users[0]?.user.token ?? '';
  const dir = await tempDir('token-file-');
  const tokenFile = join(dir, 'token');
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: c, cluster: { server: "${cluster?.server ?? ''}", certificate-authority: "${cluster?.['certificate-authority'] ?? ''}" } }]`,
      `users: [{ name: u, user: { token-file: "${tokenFile}" } }]`,
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  return { kubeconfig, tokenFile, token };
}

async function status(kube: KubeClient): Promise<number> {
  try {
    await discoverResources(kube);
    return 200;
  } catch (err) {
    if (err instanceof KubeApiError) return err.status;
    throw err;
  }
}

describe('credentials read from a token file', () => {
  it('are read again after a 401, and the request succeeds once the token is valid', async () => {
    const { kubeconfig, tokenFile, token } = await tokenFileKubeconfig();
    await writeFile(tokenFile, 'not-a-valid-token');
    const kube = await KubeClient.create({ kubeconfig, credentialRefreshIntervalMs: 0 });
    try {
      expect(await status(kube)).toBe(401);
      // The token is rotated while the client lives: the next 401 reads it again.
      await writeFile(tokenFile, token);
      expect(await status(kube)).toBe(200);
      expect(await status(kube)).toBe(200);
    } finally {
      kube.close();
    }
  });

  it('are not read again within the interval: wrong credentials stay a 401, not a process per request', async () => {
    const { kubeconfig, tokenFile, token } = await tokenFileKubeconfig();
    await writeFile(tokenFile, 'not-a-valid-token');
    const kube = await KubeClient.create({ kubeconfig, credentialRefreshIntervalMs: 60 * 60 * 1000 });
    try {
      expect(await status(kube)).toBe(401);
      await writeFile(tokenFile, token);
      // Read at creation, a moment ago: a 401 now means the credentials are wrong, not stale.
      expect(await status(kube)).toBe(401);
    } finally {
      kube.close();
    }
  });
});
