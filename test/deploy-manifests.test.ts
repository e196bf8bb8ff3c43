// The manifests in deploy/ are accepted by a real kube-apiserver, in the order the
// kustomization lists them, and say what deploy/README.md promises: the reconciler runs
// `lifeboat run` as a non-root user on a read-only root filesystem, its credentials come from
// Secrets, and backing up (read-only) is granted separately from restoring (writes, in the
// opt-in component deploy/restore/, checked here on top of the default manifests) and from the
// volume work (deploy/volumes/, hooks/, verification/); the last describe asks the apiserver
// itself, with SubjectAccessReviews, what each installation lets the reconciler write.
//
// Every object goes through server-side apply with dryRun=All (what `kubectl apply
// --server-side --dry-run=server` sends) and fieldValidation=Strict, so a misspelt field fails
// here instead of being dropped with a warning. A dry-run Namespace does not persist, so the
// Namespace is created for real under a unique name (the suite runs in parallel workers and
// more than once), and every reference to `lifeboat`'s namespace is rewritten to it.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { discoverResources } from '../src/backup/discover.js';
import { buildProgram } from '../src/cli/main.js';
import { KubeApiError, KubeClient, resourcePath } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { apiVersionOf } from '../src/kube/types.js';
import { ground, uniqueName } from './ground/world.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const deployDir = join(root, 'deploy');
const FIELD_MANAGER = 'lifeboat-deploy-manifests-test';

interface Manifest {
  file: string;
  object: KubeObject;
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

/** deploy/kustomization.yaml: its target namespace and its resource files, in order. */
async function readKustomization(): Promise<{ namespace: string; resources: string[] }> {
  const k = parseYaml(await readFile(join(deployDir, 'kustomization.yaml'), 'utf8')) as {
    namespace?: string;
    resources?: string[];
  };
  if (!k.namespace || !k.resources?.length) {
    throw new Error('deploy/kustomization.yaml: expected a namespace and a resources list');
  }
  return { namespace: k.namespace, resources: k.resources };
}

/** The opt-in components beside deploy/restore/, each a kustomize Component in its directory. */
const COMPONENTS = ['restore', 'volumes', 'hooks', 'verification'] as const;
type Component = (typeof COMPONENTS)[number];

/** deploy/<component>/kustomization.yaml: the component's resource files, relative to deploy/. */
async function readComponent(component: Component): Promise<string[]> {
  const file = join(deployDir, component, 'kustomization.yaml');
  const k = parseYaml(await readFile(file, 'utf8')) as { kind?: string; resources?: string[] };
  if (k.kind !== 'Component' || !k.resources?.length) {
    throw new Error(`deploy/${component}/kustomization.yaml: expected a Component with a resources list`);
  }
  return k.resources.map((f) => `${component}/${f}`);
}

const readRestoreComponent = () => readComponent('restore');

/** Every document of every listed file, in order. YAML 1.1, as kubectl's parser reads it. */
async function readManifests(resources: readonly string[]): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const file of resources) {
    const docs = parseAllDocuments(await readFile(join(deployDir, file), 'utf8'), { version: '1.1' });
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`deploy/${file}: ${doc.errors[0]?.message}`);
      const object = doc.toJS() as KubeObject | null;
      if (object !== null) out.push({ file, object });
    }
  }
  return out;
}

function resourceFor(resources: readonly ResourceInfo[], object: KubeObject): ResourceInfo {
  const info = resources.find((r) => apiVersionOf(r) === object.apiVersion && r.kind === object.kind);
  if (info === undefined) throw new Error(`the apiserver serves no ${object.apiVersion} ${object.kind}`);
  return info;
}

/** The object as it would be applied into `namespace` instead of the kustomization's. */
function intoNamespace(object: KubeObject, info: ResourceInfo, namespace: string): KubeObject {
  const copy = structuredClone(object);
  if (copy.kind === 'Namespace') copy.metadata.name = namespace;
  if (info.namespaced) copy.metadata.namespace = namespace;
  const subjects = copy.subjects as Subject[] | undefined;
  for (const subject of subjects ?? []) {
    if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
  }
  return copy;
}

function serverSideApply(
  kube: KubeClient,
  info: ResourceInfo,
  object: KubeObject,
  options: { dryRun: boolean },
): Promise<KubeObject> {
  return kube.request<KubeObject>({
    method: 'PATCH',
    path: resourcePath(info, { namespace: object.metadata.namespace, name: object.metadata.name }),
    query: {
      fieldManager: FIELD_MANAGER,
      force: 'true',
      fieldValidation: 'Strict',
      dryRun: options.dryRun ? 'All' : undefined,
    },
    body: object,
    contentType: 'application/apply-patch+yaml',
  });
}

function named(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`deploy/ has no ${kind} ${name}`);
  return found;
}

function rulesOf(role: KubeObject): PolicyRule[] {
  return (role.rules as PolicyRule[] | undefined) ?? [];
}

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection', '*'];

let kube: KubeClient;
let resources: ResourceInfo[];
let kustomization: { namespace: string; resources: string[] };
let manifests: Manifest[];
let namespace: string;
/** The apiserver's answer to each manifest, in order: the object it would store, or its error. */
let outcomes: { manifest: Manifest; result?: KubeObject; error?: string }[];
/** The objects the apiserver accepted. */
let accepted: KubeObject[];

beforeAll(async () => {
  kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
  resources = await discoverResources(kube);
  kustomization = await readKustomization();
  // The default installation, then the opt-in components on top of it.
  const componentFiles: string[] = [];
  for (const component of COMPONENTS) componentFiles.push(...(await readComponent(component)));
  manifests = await readManifests([...kustomization.resources, ...componentFiles]);
  namespace = uniqueName('lifeboat');
  outcomes = [];
  for (const manifest of manifests) {
    const info = resourceFor(resources, manifest.object);
    const target = intoNamespace(manifest.object, info, namespace);
    try {
      // The Namespace for real: a dry-run one would not exist for the objects inside it.
      const dryRun = manifest.object.kind !== 'Namespace';
      outcomes.push({ manifest, result: await serverSideApply(kube, info, target, { dryRun }) });
    } catch (err) {
      outcomes.push({ manifest, error: err instanceof Error ? err.message : String(err) });
    }
  }
  accepted = outcomes.flatMap((o) => (o.result === undefined ? [] : [o.result]));
});

afterAll(async () => {
  const info = resources.find((r) => r.group === '' && r.kind === 'Namespace');
  if (info !== undefined && namespace !== undefined) await kube.delete(info, '', namespace);
  kube.close();
});

describe('deploy/ on a real apiserver', () => {
  it('lists a Namespace first and keeps every namespaced manifest in the kustomization namespace', () => {
    expect(manifests[0]?.object.kind).toBe('Namespace');
    expect(manifests[0]?.object.metadata.name).toBe(kustomization.namespace);
    for (const { file, object } of manifests) {
      const info = resourceFor(resources, object);
      if (info.namespaced)
        expect(object.metadata.namespace, `${file} ${object.kind}`).toBe(kustomization.namespace);
      for (const subject of (object.subjects as Subject[] | undefined) ?? []) {
        expect(subject.namespace, `${file} ${object.kind} subject`).toBe(kustomization.namespace);
      }
    }
  });

  it('accepts every manifest, in order, with strict field validation', () => {
    const refused = outcomes
      .filter((o) => o.error !== undefined)
      .map(
        (o) =>
          `deploy/${o.manifest.file}: ${o.manifest.object.kind} ${o.manifest.object.metadata.name}: ${o.error}`,
      );
    expect(refused).toEqual([]);
    expect(accepted.map((o) => o.kind)).toEqual(manifests.map((m) => m.object.kind));
  });

  it('rejects a misspelt field, so the acceptance above means something', async () => {
    const deployment = manifests.find((m) => m.object.kind === 'Deployment');
    if (deployment === undefined) throw new Error('deploy/ has no Deployment');
    const info = resourceFor(resources, deployment.object);
    const typo = intoNamespace(deployment.object, info, namespace);
    (typo.spec as Record<string, unknown>).replica = 2;
    const error = await serverSideApply(kube, info, typo, { dryRun: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toContain('replica');
  });
});

describe('the reconciler Deployment', () => {
  interface Container {
    command?: string[];
    args?: string[];
    env?: {
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
    }[];
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    securityContext?: {
      readOnlyRootFilesystem?: boolean;
      allowPrivilegeEscalation?: boolean;
      runAsNonRoot?: boolean;
      runAsUser?: number;
    };
  }
  interface PodSpec {
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    containers: Container[];
    volumes?: { name: string; secret?: { secretName: string; defaultMode?: number } }[];
  }

  const podSpec = (): PodSpec => {
    const deployment = accepted.find((o) => o.kind === 'Deployment');
    if (deployment === undefined) throw new Error('the Deployment was not accepted');
    return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
  };
  const container = (): Container => {
    const [first, ...rest] = podSpec().containers;
    if (first === undefined || rest.length > 0) throw new Error('expected exactly one container');
    return first;
  };

  it('runs `lifeboat run` through the image entry point', async () => {
    const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \[.*"\/app\/bin\/lifeboat\.js"\]$/m);
    expect(container().command).toBeUndefined();
    expect(container().args?.[0]).toBe('run');
  });

  it('passes `lifeboat run` only options it knows', async () => {
    const run = (await buildProgram()).commands.find((c) => c.name() === 'run');
    if (run === undefined) throw new Error('lifeboat has no run command');
    const known = new Set(run.options.map((o) => o.long));
    const given = (container().args ?? []).slice(1).map((arg) => arg.split('=')[0]);
    expect(given.length).toBeGreaterThan(0);
    expect(given.filter((flag) => !known.has(flag))).toEqual([]);
  });

  it('runs as a non-root user on a read-only root filesystem', () => {
    const pod = podSpec().securityContext;
    const own = container().securityContext;
    expect(own?.runAsNonRoot ?? pod?.runAsNonRoot).toBe(true);
    expect(own?.runAsUser ?? pod?.runAsUser).toBeGreaterThan(0);
    expect(own?.readOnlyRootFilesystem).toBe(true);
    expect(own?.allowPrivilegeEscalation).toBe(false);
  });

  it('writes only to mounted volumes: its checkout and data directories are under writable mounts', () => {
    const mounts = (container().volumeMounts ?? []).filter((m) => m.readOnly !== true);
    const dirs = (container().args ?? []).flatMap((arg) => {
      const m = /^--(?:workdir|data-dir)=(.+)$/.exec(arg);
      return m?.[1] === undefined ? [] : [m[1]];
    });
    expect(dirs).toHaveLength(2);
    for (const dir of dirs) {
      expect(
        mounts.some((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`)),
        dir,
      ).toBe(true);
    }
  });

  it('tells `lifeboat run` its namespace, where the leader-election Role is', () => {
    const env = container().env?.find((e) => e.name === 'POD_NAMESPACE');
    expect(env?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    const role = named(accepted, 'Role', 'lifeboat-leader-election');
    expect(role.metadata.namespace).toBe(namespace);
    expect(rulesOf(role)).toContainEqual(
      expect.objectContaining({ apiGroups: ['coordination.k8s.io'], resources: ['leases'] }),
    );
  });

  it('takes every credential from a Secret, never from a literal value', () => {
    const env = container().env ?? [];
    const credentials = env.filter((e) => /TOKEN|SECRET|PASSWORD|ACCESS_KEY/.test(e.name));
    expect(credentials.map((e) => e.name)).toEqual(
      expect.arrayContaining(['LIFEBOAT_GIT_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']),
    );
    for (const e of credentials) {
      expect(e.value, e.name).toBeUndefined();
      expect(e.valueFrom?.secretKeyRef?.name, e.name).toMatch(/^lifeboat-(git|s3)$/);
    }
    const sshKey = podSpec().volumes?.find((v) => v.secret?.secretName === 'lifeboat-git');
    expect(sshKey?.secret?.defaultMode).toBe(0o400);
  });
});

describe('RBAC', () => {
  const roles = (): KubeObject[] => accepted.filter((o) => o.kind === 'ClusterRole');
  const bindings = (): KubeObject[] => accepted.filter((o) => o.kind === 'ClusterRoleBinding');

  it('lets the backup ClusterRole only get and list', () => {
    const rules = rulesOf(named(roles(), 'ClusterRole', 'lifeboat-backup'));
    expect(rules.length).toBeGreaterThan(0);
    const verbs = rules.flatMap((rule) => rule.verbs);
    expect(verbs.filter((v) => v !== 'get' && v !== 'list')).toEqual([]);
  });

  /** Whether the role comes from one of the files of `component` (any opt-in one if omitted). */
  const fromComponent = async (role: KubeObject, component?: Component): Promise<boolean> => {
    const files = new Set<string>();
    for (const c of component ? [component] : COMPONENTS)
      for (const f of await readComponent(c)) files.add(f);
    return manifests.some(
      (m) =>
        files.has(m.file) && m.object.kind === role.kind && m.object.metadata.name === role.metadata.name,
    );
  };

  it('grants the write verbs only in the opt-in components, restore writes only in the restore ClusterRoles', async () => {
    const restoreFiles = new Set(await readRestoreComponent());
    const restoreRoles = new Set<KubeObject>();
    const componentRoles = new Set<KubeObject>();
    for (const role of roles()) {
      if (await fromComponent(role, 'restore')) restoreRoles.add(role);
      if (await fromComponent(role)) componentRoles.add(role);
    }
    const isRestore = (role: KubeObject) => restoreRoles.has(role);
    const restoreRules = roles().filter(isRestore).flatMap(rulesOf);
    expect(restoreRules.flatMap((r) => r.verbs)).toEqual(
      expect.arrayContaining(['create', 'patch', 'update']),
    );
    // RBAC has no deny: no wildcard anywhere, so no subresource (serviceaccounts/token, pods/exec).
    for (const rule of restoreRules) {
      expect(rule.apiGroups ?? []).not.toContain('*');
      expect((rule.resources ?? []).filter((r) => r.includes('*') || r.includes('/'))).toEqual([]);
      // The one delete: a restore's temporary snapshot objects and probes (ADR 0022).
      const snapshotCleanup =
        (rule.apiGroups ?? []).every((g) => g === 'snapshot.storage.k8s.io') &&
        (rule.resources ?? []).every((r) => r === 'volumesnapshots' || r === 'volumesnapshotcontents');
      const allowed = ['create', 'patch', 'update', ...(snapshotCleanup ? ['delete'] : [])];
      expect(rule.verbs.filter((v) => !allowed.includes(v))).toEqual([]);
    }
    // The node agent writes the status of lifeboat's own PodVolumeBackups/-Restores, nothing else.
    const ownStatus = (r: PolicyRule) =>
      (r.apiGroups ?? []).every((g) => g === 'lifeboat.dev') &&
      (r.resources ?? []).every((res) => /^podvolume(backups|restores)\/status$/.test(res));
    for (const role of roles().filter((r) => !componentRoles.has(r))) {
      const verbs = rulesOf(role)
        .filter((r) => !(role.metadata.name === 'lifeboat-agent' && ownStatus(r)))
        .flatMap((r) => r.verbs);
      expect(
        verbs.filter((v) => WRITE_VERBS.includes(v)),
        String(role.metadata.name),
      ).toEqual([]);
    }
    // Separate bindings, so leaving the component out leaves a backup-only reconciler.
    for (const role of ['lifeboat-backup', 'lifeboat-restore']) {
      const bound = bindings().filter((b) => (b.roleRef as { name: string }).name === role);
      expect(bound, role).toHaveLength(1);
      expect(bound[0]?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'lifeboat', namespace }]);
    }
    const restoreBinding = manifests.find(
      (m) => m.object.kind === 'ClusterRoleBinding' && m.object.metadata.name === 'lifeboat-restore',
    );
    expect(restoreFiles.has(restoreBinding?.file ?? '')).toBe(true);
  });
  it('keeps the volume, hook and verification components to listed groups, resources and verbs, each bound separately', async () => {
    const expected: Record<Exclude<Component, 'restore'>, string[]> = {
      volumes: ['lifeboat-volumes'],
      hooks: ['lifeboat-hooks'],
      verification: ['lifeboat-verification'],
    };
    for (const [component, names] of Object.entries(expected) as [Component, string[]][]) {
      const files = new Set(await readComponent(component));
      const own = accepted.filter((o) =>
        manifests.some(
          (m) => files.has(m.file) && m.object.kind === o.kind && m.object.metadata.name === o.metadata.name,
        ),
      );
      const roleRules = own.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap(rulesOf);
      expect(roleRules.length, component).toBeGreaterThan(0);
      for (const rule of roleRules) {
        expect(rule.apiGroups ?? [], component).not.toContain('*');
        expect(rule.verbs, component).not.toContain('*');
        expect(
          rule.verbs.filter((v) => ['escalate', 'bind', 'impersonate', 'deletecollection'].includes(v)),
        ).toEqual([]);
        // The one subresource: pods/exec, only in the hooks component.
        const subresources = (rule.resources ?? []).filter((r) => r.includes('*') || r.includes('/'));
        expect(subresources, component).toEqual(component === 'hooks' ? ['pods/exec'] : []);
      }
      // Every role of the component is bound, by a binding of the component, to lifeboat only.
      for (const role of own.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
        expect(names, component).toContain(role.metadata.name);
        const bindingKind = role.kind === 'Role' ? 'RoleBinding' : 'ClusterRoleBinding';
        const bound = own.filter(
          (b) => b.kind === bindingKind && (b.roleRef as { name: string }).name === role.metadata.name,
        );
        expect(bound, `${component} ${role.kind} ${role.metadata.name}`).toHaveLength(1);
        expect(bound[0]?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'lifeboat', namespace }]);
      }
    }
  });
});

// The apiserver of the ground authorizes with RBAC (test/ground/ground.ts), so the roles are
// created for real and asked about with SubjectAccessReviews for the reconciler's
// ServiceAccount: what an installation allows is what the apiserver says, aggregation and
// wildcards included. Three installations side by side, each under its own names and its own
// ServiceAccount in the test's namespace: the default one (backup only), the default one with
// volumes/, and with volumes/, hooks/ and verification/.
describe('what the reconciler may do, asked of the apiserver', () => {
  const INSTALLS = {
    backup: [] as Component[],
    volumes: ['volumes'] as Component[],
    all: ['volumes', 'hooks', 'verification'] as Component[],
  };
  type Install = keyof typeof INSTALLS;
  const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
  /** A namespace of workloads; a review needs no such namespace to exist. */
  const WORKLOAD = 'shop';

  interface Need {
    why: string;
    verb: string;
    group: string;
    resource: string;
    subresource?: string;
    /** `agent`: lifeboat's own namespace (the node agents'); `workload`: any other; none: cluster. */
    where?: 'agent' | 'workload';
  }
  /** What the code writes (grep kube.create/delete/mergePatch/exec and SnapshotApi in src/). */
  const LEADER: Need[] = [
    {
      why: 'leader.ts release',
      verb: 'delete',
      group: 'coordination.k8s.io',
      resource: 'leases',
      where: 'agent',
    },
    {
      why: 'leader.ts renew',
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      where: 'agent',
    },
  ];
  const SNAP = 'snapshot.storage.k8s.io';
  const VOLUMES: Need[] = [
    {
      why: 'snapshots.ts createSnapshot',
      verb: 'create',
      group: SNAP,
      resource: 'volumesnapshots',
      where: 'workload',
    },
    {
      why: 'snapshots.ts deleteSnapshot',
      verb: 'delete',
      group: SNAP,
      resource: 'volumesnapshots',
      where: 'workload',
    },
    {
      why: 'snapshots.ts holdContentForBackup',
      verb: 'patch',
      group: SNAP,
      resource: 'volumesnapshotcontents',
    },
    { why: 'snapshots.ts deleteContent', verb: 'delete', group: SNAP, resource: 'volumesnapshotcontents' },
    {
      why: 'data-mover.ts claim',
      verb: 'create',
      group: '',
      resource: 'persistentvolumeclaims',
      where: 'workload',
    },
    {
      why: 'mover-pod.ts deleteAndWait claim',
      verb: 'delete',
      group: '',
      resource: 'persistentvolumeclaims',
      where: 'workload',
    },
    { why: 'mover-pod.ts startMoverPod', verb: 'create', group: '', resource: 'pods', where: 'workload' },
    { why: 'mover-pod.ts deleteAndWait pod', verb: 'delete', group: '', resource: 'pods', where: 'workload' },
    {
      why: 'restic-capturer.ts',
      verb: 'create',
      group: 'lifeboat.dev',
      resource: 'podvolumebackups',
      where: 'agent',
    },
    {
      why: 'forget-backup.ts',
      verb: 'delete',
      group: 'lifeboat.dev',
      resource: 'podvolumebackups',
      where: 'agent',
    },
    {
      why: 'pod-volume-restores.ts',
      verb: 'create',
      group: 'lifeboat.dev',
      resource: 'podvolumerestores',
      where: 'agent',
    },
    {
      why: 'verification-run.ts cleanUp',
      verb: 'delete',
      group: 'lifeboat.dev',
      resource: 'podvolumerestores',
      where: 'agent',
    },
  ];
  const HOOKS: Need[] = [
    {
      why: 'pod-exec.ts (WebSocket GET)',
      verb: 'get',
      group: '',
      resource: 'pods',
      subresource: 'exec',
      where: 'workload',
    },
    {
      why: 'pod-exec.ts (upgrade as create)',
      verb: 'create',
      group: '',
      resource: 'pods',
      subresource: 'exec',
      where: 'workload',
    },
  ];
  const VERIFICATION: Need[] = [
    { why: 'verification-run.ts scratch namespace', verb: 'create', group: '', resource: 'namespaces' },
    { why: 'verification-run.ts cleanUp', verb: 'delete', group: '', resource: 'namespaces' },
    {
      why: 'verification-run.ts contentsLeft',
      verb: 'delete',
      group: SNAP,
      resource: 'volumesnapshotcontents',
    },
  ];
  /** Writes no volume component grants: restores, and work outside lifeboat's namespace. */
  const NEVER: Need[] = [
    { why: 'restore writes', verb: 'create', group: 'apps', resource: 'deployments', where: 'workload' },
    { why: 'restore writes', verb: 'patch', group: '', resource: 'configmaps', where: 'workload' },
    { why: 'restore writes', verb: 'update', group: SNAP, resource: 'volumesnapshots', where: 'workload' },
    { why: 'secrets', verb: 'create', group: '', resource: 'secrets', where: 'workload' },
    {
      why: 'node agents elsewhere',
      verb: 'create',
      group: 'lifeboat.dev',
      resource: 'podvolumebackups',
      where: 'workload',
    },
    { why: 'attach', verb: 'create', group: '', resource: 'pods', subresource: 'attach', where: 'workload' },
    {
      why: 'tokens',
      verb: 'create',
      group: '',
      resource: 'serviceaccounts',
      subresource: 'token',
      where: 'workload',
    },
    { why: 'roles', verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    { why: 'collections', verb: 'deletecollection', group: '', resource: 'pods', where: 'workload' },
  ];

  const created: { info: ResourceInfo; name: string }[] = [];
  const rbacInfo = (kind: string): ResourceInfo => {
    const info = resources.find((r) => r.group === 'rbac.authorization.k8s.io' && r.kind === kind);
    if (info === undefined) throw new Error(`the apiserver serves no ${kind}`);
    return info;
  };
  /** Cluster-wide names are unique per run and install; namespaced ones live in the test's namespace. */
  const renamed = (install: Install, kind: string, name: string): string =>
    kind.startsWith('Cluster') ? `${namespace}-${install}-${name}` : `${install}-${name}`;
  const account = (install: Install, name: string): string =>
    name === 'lifeboat' ? install : `${install}-${name}`;

  async function installForReal(install: Install): Promise<void> {
    const files = [...kustomization.resources];
    for (const component of INSTALLS[install]) files.push(...(await readComponent(component)));
    for (const { object } of await readManifests(files)) {
      if (!RBAC_KINDS.has(object.kind)) continue;
      const info = rbacInfo(object.kind);
      const target = intoNamespace(object, info, namespace);
      target.metadata.name = renamed(install, object.kind, object.metadata.name ?? '');
      const roleRef = target.roleRef as { kind: string; name: string } | undefined;
      if (roleRef !== undefined) roleRef.name = renamed(install, roleRef.kind, roleRef.name);
      for (const subject of (target.subjects as Subject[] | undefined) ?? []) {
        if (subject.kind === 'ServiceAccount') subject.name = account(install, subject.name);
      }
      // Aggregation would gather every run's restore roles: the restore component is not installed here.
      if (target.aggregationRule !== undefined)
        throw new Error(`${object.kind} ${object.metadata.name} aggregates`);
      if (!info.namespaced) created.push({ info, name: target.metadata.name });
      await serverSideApply(kube, info, target, { dryRun: false });
    }
  }

  async function allowed(install: Install, need: Need): Promise<boolean> {
    const review = await kube.request<{ status?: { allowed?: boolean } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: `system:serviceaccount:${namespace}:${install}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
          resourceAttributes: {
            namespace: need.where === 'agent' ? namespace : need.where === 'workload' ? WORKLOAD : undefined,
            verb: need.verb,
            group: need.group,
            resource: need.resource,
            subresource: need.subresource,
          },
        },
      },
    });
    return review.status?.allowed === true;
  }

  const describeNeed = (n: Need) =>
    `${n.verb} ${n.group || 'core'}/${n.resource}${n.subresource ? `/${n.subresource}` : ''}${n.where ? ` in ${n.where}` : ''} (${n.why})`;
  // get on every resource (lifeboat-backup) includes get on pods/exec, which some apiservers take
  // for exec: README.md says so under "Reading is broad too". The writes are what is checked.
  const writes = (needs: readonly Need[]) => needs.filter((n) => n.verb !== 'get');
  const judge = async (install: Install, needs: readonly Need[]) => {
    const out = { allowed: [] as string[], denied: [] as string[] };
    for (const need of needs)
      ((await allowed(install, need)) ? out.allowed : out.denied).push(describeNeed(need));
    return out;
  };

  beforeAll(async () => {
    for (const install of Object.keys(INSTALLS) as Install[]) await installForReal(install);
    // The apiserver's RBAC authorizer reads roles from its cache: wait until each installation
    // is in effect (renewing its Lease is allowed), so a denial below is a real one.
    for (const install of Object.keys(INSTALLS) as Install[]) {
      for (let tries = 0; !(await allowed(install, LEADER[1] as Need)); tries++) {
        if (tries > 600) throw new Error(`the ${install} installation's roles never took effect`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }, 120_000);

  afterAll(async () => {
    for (const { info, name } of created) await kube.delete(info, '', name).catch(() => undefined);
  });

  it('lets every installation run leader election, releasing its Lease included', async () => {
    for (const install of Object.keys(INSTALLS) as Install[]) {
      expect((await judge(install, LEADER)).denied, install).toEqual([]);
    }
  });

  it('lets the reconciler with volumes/, hooks/ and verification/ do every write its volume work needs', async () => {
    expect((await judge('all', [...VOLUMES, ...HOOKS, ...VERIFICATION])).denied).toEqual([]);
  });

  it('lets volumes/ alone back up volumes, without pods/exec or namespace writes', async () => {
    expect((await judge('volumes', VOLUMES)).denied).toEqual([]);
    const withoutContents = writes([...HOOKS, ...VERIFICATION]).filter(
      (n) => n.resource !== 'volumesnapshotcontents',
    );
    expect((await judge('volumes', withoutContents)).allowed).toEqual([]);
  });

  it('grants none of these writes to the backup-only installation', async () => {
    expect(
      (await judge('backup', writes([...VOLUMES, ...HOOKS, ...VERIFICATION, ...NEVER]))).allowed,
    ).toEqual([]);
  });

  it('grants no restore writes, no other subresource and nothing outside lifeboat namespace with every volume component', async () => {
    expect((await judge('all', NEVER)).allowed).toEqual([]);
  });
});
