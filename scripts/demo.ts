// `npm run demo`: lifeboat end to end on embedded defaults, narrated.
//
// Starts the local cluster of the test ground, deploys a sample application, creates a policy
// repository from policies/ (local-directory storage), and drives the real `lifeboat` CLI:
// a scheduled backup, a lost namespace, a restore proposed on a branch, its plan in a pull request
// on the ground's Gitea (comment and lifeboat/plan check), a protected main that refuses the
// merge until someone approves, the squash merge that approves it, the restore applied and
// commented, the application back, and the audit trail with the approver from the forge.
//
//   npm run demo              # everything in a temporary directory, removed at the end
//   npm run demo -- --keep    # keep the directory (policy repo, backups) to look around
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeClient, KubeApiError } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { startGround } from '../test/ground/ground.js';
import type { ForgeInfo, ForgeUser } from '../test/ground/context.js';
import { forgeApi, forgeGitEnv } from '../test/ground/forge.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const color = process.stdout.isTTY && !('NO_COLOR' in process.env);
const bold = (s: string): string => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (color ? `\x1b[2m${s}\x1b[0m` : s);

let stepNo = 0;
function step(title: string, explain: string): void {
  stepNo++;
  console.log(`\n${bold(`${stepNo}. ${title}`)}\n${dim(explain)}`);
}

function indent(text: string, lines = 40): string {
  const all = text.trimEnd().split('\n');
  const shown = all.slice(0, lines).map((l) => `   ${l}`);
  if (all.length > lines) shown.push(`   … (${all.length - lines} more lines)`);
  return shown.join('\n');
}

/** How to reach a built-in resource (`group/version`, plural, kind); cluster-scoped when marked. */
function info(
  apiVersion: string,
  resource: string,
  kind: string,
  scope: 'cluster' | 'namespaced' = 'namespaced',
): ResourceInfo {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return {
    group: group ?? '',
    version: version ?? '',
    resource,
    kind,
    namespaced: scope === 'namespaced',
    verbs: [],
    shortNames: [],
    singularName: kind.toLowerCase(),
    preferredVersion: version ?? '',
  };
}
const R = {
  namespaces: info('v1', 'namespaces', 'Namespace', 'cluster'),
  configmaps: info('v1', 'configmaps', 'ConfigMap'),
  secrets: info('v1', 'secrets', 'Secret'),
  services: info('v1', 'services', 'Service'),
  serviceaccounts: info('v1', 'serviceaccounts', 'ServiceAccount'),
  deployments: info('apps/v1', 'deployments', 'Deployment'),
};

/** Git in the people's clone as one of the forge's users, pushing with their token. */
function gitAs(forge: ForgeInfo, cwd: string, user: ForgeUser): (...args: string[]) => Promise<string> {
  const env = {
    ...process.env,
    ...forgeGitEnv(forge, user),
    GIT_AUTHOR_NAME: user.username,
    GIT_AUTHOR_EMAIL: user.email,
    GIT_COMMITTER_NAME: user.username,
    GIT_COMMITTER_EMAIL: user.email,
  };
  return async (...args) => (await run('git', args, { cwd, env })).stdout;
}

interface ApiPull {
  number: number;
  html_url: string;
  head: { ref: string; sha: string };
}

/**
 * main on the forge: merges need the lifeboat/plan check and one approval; only the reconciler
 * (the admin) pushes to it directly, for its status commits.
 */
async function protectMain(forge: ForgeInfo, repo: { owner: string; name: string }): Promise<void> {
  const res = await forgeApi(forge, {
    as: forge.admin,
    method: 'POST',
    path: `/repos/${repo.owner}/${repo.name}/branch_protections`,
    body: {
      rule_name: 'main',
      enable_push: true,
      enable_push_whitelist: true,
      push_whitelist_usernames: [forge.admin.username],
      required_approvals: 1,
      enable_status_check: true,
      status_check_contexts: ['lifeboat/plan'],
    },
  });
  if (res.status !== 201) throw new Error(`protecting main failed: HTTP ${res.status}`);
}

/** Gitea checks mergeability in the background and answers 405 until it has: ask again. */
async function mergeWhenReady(merge: () => Promise<{ status: number; body: unknown }>): Promise<number> {
  for (let i = 0; i < 120; i++) {
    const res = await merge();
    if (res.status !== 405) {
      if (res.status !== 200) throw new Error(`merge failed: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return res.status;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('the pull request did not become mergeable');
}

/** Run the real CLI, print what it prints, and return its output. */
async function lifeboat(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  console.log(dim(`   $ lifeboat ${args.join(' ')}`));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/lifeboat.js'), ...args], {
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (out.trim()) console.log(indent(out));
      if (code !== 0) reject(new Error(`lifeboat ${args[0] ?? ''} exited ${code}: ${err || out}`));
      else resolve(out);
    });
  });
}

async function deploySample(kube: KubeClient): Promise<void> {
  const ns = 'shop';
  const objects: [ResourceInfo, KubeObject][] = [
    [R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: 'shop' } } }],
    [
      R.configmaps,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: ns },
        data: { currency: 'EUR', theme: 'dark' },
      },
    ],
    [
      R.secrets,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db-credentials', namespace: ns },
        stringData: { password: 'demo-only-not-a-real-password' },
      },
    ],
    [
      R.serviceaccounts,
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: ns } },
    ],
    [
      R.deployments,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              serviceAccountName: 'web',
              containers: [
                { name: 'web', image: 'registry.example/shop/web:1.4.2', ports: [{ containerPort: 8080 }] },
              ],
            },
          },
        },
      },
    ],
    [
      R.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    ],
  ];
  for (const [i, obj] of objects) {
    await kube.create(i, obj);
    console.log(
      `   created ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name ?? ''}`,
    );
  }
}

async function listShop(kube: KubeClient): Promise<string[]> {
  const out: string[] = [];
  for (const i of [R.deployments, R.services, R.configmaps, R.secrets, R.serviceaccounts]) {
    const page = await kube.list(i, { namespace: 'shop' });
    for (const o of page.items) out.push(`${o.kind}/${o.metadata.name ?? ''}`);
  }
  return out.sort();
}

async function waitGone(kube: KubeClient, name: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if ((await kube.get(R.namespaces, '', name)) === null) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`namespace ${name} did not go away`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-demo-'));
  console.log(bold('lifeboat demo') + dim(` — working in ${dir}`));

  step(
    'Start a local cluster',
    'A real etcd, kube-apiserver, controller-manager and scheduler on loopback, a node (containerd and a kubelet) that runs pods, and a Gitea forge with users alice and bob (the test ground).',
  );
  const ground = await startGround({
    dir: join(dir, 'cluster'),
    node: true,
    forge: true,
    log: (l) => console.log(`   ${l}`),
  });
  const forge = ground.info.forge;
  if (!forge) throw new Error('the ground started no forge');
  const policyRepo = forge.policyRepo;
  const [alice, bob] = forge.users as [ForgeUser, ForgeUser];
  // The reconciler's tokens for Git and the forge API (the admin's here; a bot account in real use).
  const env = {
    KUBECONFIG: ground.info.kubeconfigPath,
    LIFEBOAT_GIT_TOKEN: forge.admin.token,
    LIFEBOAT_FORGE_TOKEN: forge.admin.token,
  };
  const kube = await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath });
  try {
    step(
      'Deploy a sample application',
      'The namespace "shop": a Deployment, a Service, a ConfigMap, a Secret, a ServiceAccount.',
    );
    await deploySample(kube);
    const before = await listShop(kube);

    step(
      'Create the policy repository',
      `A repository on the forge (Gitea at ${forge.url}) holding the example policies from policies/, using local-directory storage. Alice pushes it; main is protected: a merge needs the lifeboat/plan check and one approval.`,
    );
    const clone = join(dir, 'people-clone');
    const aliceGit = gitAs(forge, clone, alice);
    const bobGit = gitAs(forge, clone, bob);
    await run('git', ['init', '-q', '--initial-branch=main', clone]);
    await aliceGit('remote', 'add', 'origin', policyRepo.cloneUrl);
    await cp(join(root, 'policies/schema'), join(clone, 'schema'), { recursive: true });
    await cp(join(root, 'policies/README.md'), join(clone, 'README.md'));
    await mkdir(join(clone, 'storage-locations'));
    await mkdir(join(clone, 'schedules'));
    await cp(
      join(root, 'policies/storage-locations/default.yaml'),
      join(clone, 'storage-locations/default.yaml'),
    );
    // The example sends nightly-shop to the S3 location "primary"; the demo keeps everything local.
    const nightly = (await readFile(join(root, 'policies/schedules/nightly-shop.yaml'), 'utf8')).replace(
      'storageLocation: primary',
      'storageLocation: default',
    );
    await writeFile(join(clone, 'schedules/nightly-shop.yaml'), nightly);
    await aliceGit('add', '-A');
    await aliceGit('commit', '-q', '-m', 'Back up the shop every night');
    await aliceGit('push', '-q', 'origin', 'HEAD:main');
    await protectMain(forge, policyRepo);
    console.log(
      indent(
        nightly
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .join('\n'),
        30,
      ),
    );
    await lifeboat(['validate', clone], env);

    const repoArgs = [
      '--repo',
      policyRepo.cloneUrl,
      '--workdir',
      join(dir, 'reconciler-checkout'),
      '--data-dir',
      dir,
      '--forge',
      'gitea',
      '--forge-url',
      forge.url,
    ];
    step(
      'Reconcile',
      'A new schedule runs at once (as in Velero): lifeboat backs up "shop" and commits status to Git.',
    );
    await lifeboat(['reconcile', '--once', ...repoArgs], env);
    await aliceGit('pull', '-q', 'origin', 'main');
    const backups = await lifeboat(['backup', 'list', '--storage', join(dir, '.lifeboat/backups')], env);
    const backupName = /^(nightly-shop-\d+)/m.exec(backups)?.[1] ?? '';

    step(
      'Disaster',
      'Someone deletes the namespace "shop". The controller-manager removes everything in it.',
    );
    await kube.request({ method: 'DELETE', path: '/api/v1/namespaces/shop' });
    await waitGone(kube, 'shop');
    console.log(`   namespace shop is gone; objects left: ${(await listShop(kube)).length}`);

    step(
      'Propose a restore on a branch',
      'Bob adds restores/shop-restore.yaml on the branch restore/shop and pushes it to the forge.',
    );
    await bobGit('checkout', '-q', '-b', 'restore/shop');
    await mkdir(join(clone, 'restores'), { recursive: true });
    const restoreDoc = [
      'apiVersion: lifeboat.dev/v1',
      'kind: Restore',
      'metadata:',
      '  name: shop-restore',
      'spec:',
      '  scheduleName: nightly-shop',
      '  includedNamespaces: [shop]',
      '',
    ].join('\n');
    await writeFile(join(clone, 'restores/shop-restore.yaml'), restoreDoc);
    await bobGit('add', '-A');
    await bobGit('commit', '-q', '-m', 'Restore the shop after the accidental delete');
    await bobGit('push', '-q', 'origin', 'restore/shop');
    console.log(indent(restoreDoc));

    step(
      'lifeboat plans the restore in a pull request',
      'It commits plans/shop-restore.md to the branch, opens the pull request, posts the plan as a comment and sets the lifeboat/plan check.',
    );
    await lifeboat(['reconcile', '--once', ...repoArgs], env);
    const api = <T>(method: string, path: string, as: ForgeUser, body?: unknown) =>
      forgeApi<T>(forge, {
        as,
        method,
        path: `/repos/${policyRepo.owner}/${policyRepo.name}${path}`,
        ...(body !== undefined ? { body } : {}),
      });
    const pulls = (await api<ApiPull[]>('GET', '/pulls?state=open', alice)).body;
    const pr = pulls.find((p) => p.head.ref === 'restore/shop');
    if (!pr) throw new Error('lifeboat opened no pull request for restore/shop');
    console.log(`   pull request #${pr.number}: ${pr.html_url}`);
    const comments = (await api<{ body: string }[]>('GET', `/issues/${pr.number}/comments`, alice)).body;
    const planComment = comments.find((c) => c.body.includes('lifeboat'))?.body ?? '';
    console.log(indent(planComment.replace(/<!--.*?-->/g, '').trim(), 30));
    const checks = (
      await api<{ context: string; status: string; description: string }[]>(
        'GET',
        `/commits/${pr.head.sha}/statuses`,
        alice,
      )
    ).body;
    for (const c of checks) console.log(`   check ${c.context}: ${c.status} — ${c.description}`);

    step(
      'The protected main waits for a review',
      'Alice tries to merge before anyone approved: the forge refuses.',
    );
    const early = await api('POST', `/pulls/${pr.number}/merge`, alice, { Do: 'squash' });
    console.log(`   merge without approval: HTTP ${early.status} (refused)`);
    if (early.status < 400) throw new Error('the protected main let an unapproved pull request merge');

    step('Approve and merge', 'Alice approves the pull request and squash-merges it.');
    const review = await api('POST', `/pulls/${pr.number}/reviews`, alice, {
      event: 'APPROVED',
      body: 'Plan reviewed.',
    });
    if (review.status !== 200) throw new Error(`approving failed: HTTP ${review.status}`);
    const merged = await mergeWhenReady(() =>
      api('POST', `/pulls/${pr.number}/merge`, alice, { Do: 'squash' }),
    );
    console.log(`   merged: HTTP ${merged}`);

    step(
      'Reconcile',
      'The plan is still what lifeboat would do now, so it applies it, records the result and comments it on the pull request.',
    );
    await lifeboat(['reconcile', '--once', ...repoArgs], env);
    const after = await listShop(kube);
    const missing = before.filter((o) => !after.includes(o));
    console.log(`   shop again holds: ${after.join(', ')}`);
    if (missing.length > 0) throw new Error(`not restored: ${missing.join(', ')}`);
    const secret = await kube.get(R.secrets, 'shop', 'db-credentials');
    const value = Buffer.from((secret?.data as Record<string, string>).password ?? '', 'base64').toString();
    console.log(
      `   the Secret's value survived the round trip: ${value === 'demo-only-not-a-real-password' ? 'yes' : 'NO'} (never printed, never in Git)`,
    );
    const result = (await api<{ body: string }[]>('GET', `/issues/${pr.number}/comments`, alice)).body.at(-1);
    console.log(indent((result?.body ?? '').replace(/<!--.*?-->/g, '').trim(), 20));

    step(
      'The audit trail',
      'From the Git log, with the approver and the merger from the forge (a squash merge leaves only the committer in Git).',
    );
    await lifeboat(['audit', ...repoArgs], env);
    console.log(`\n${bold('Done.')} Backup ${backupName} restored through a reviewed, merged plan.`);
  } catch (err) {
    if (err instanceof KubeApiError) console.error(`Kubernetes API: ${err.message}`);
    throw err;
  } finally {
    kube.close();
    await ground.stop();
    if (keep) console.log(dim(`kept ${dir}`));
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
