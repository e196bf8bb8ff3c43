import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RESTORE_PRIORITIES,
  formatPriorities,
  parsePriorities,
  PrioritiesError,
  PRIORITY_REASONS,
  restoreTiers,
} from './order.js';

describe('default restore priorities', () => {
  it('follow Velero: CRDs, namespaces and storage first, services last of the high ones', () => {
    const high = DEFAULT_RESTORE_PRIORITIES.highPriorities;
    expect(high.slice(0, 3)).toEqual([
      'customresourcedefinitions.apiextensions.k8s.io',
      'namespaces',
      'storageclasses.storage.k8s.io',
    ]);
    expect(high.at(-1)).toBe('services');
    expect(DEFAULT_RESTORE_PRIORITIES.lowPriorities[0]).toBe('clusterbootstraps.run.tanzu.vmware.com');
  });

  it.each([
    ['persistentvolumes', 'persistentvolumeclaims'],
    ['persistentvolumeclaims', 'pods'],
    ['roles.rbac.authorization.k8s.io', 'rolebindings.rbac.authorization.k8s.io'],
    ['clusterroles.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io'],
    ['serviceaccounts', 'secrets'],
    ['secrets', 'pods'],
    ['configmaps', 'pods'],
    ['pods', 'replicasets.apps'],
    ['endpoints', 'services'],
  ])('%s before %s', (first, second) => {
    const high = DEFAULT_RESTORE_PRIORITIES.highPriorities;
    expect(high.indexOf(first)).toBeGreaterThanOrEqual(0);
    expect(high.indexOf(first)).toBeLessThan(high.indexOf(second));
  });

  it('give a reason for every entry', () => {
    const all = [...DEFAULT_RESTORE_PRIORITIES.highPriorities, ...DEFAULT_RESTORE_PRIORITIES.lowPriorities];
    for (const resource of all) expect(PRIORITY_REASONS[resource]).toMatch(/\w{4}/);
  });
});

describe('restoreTiers', () => {
  it('puts each prioritised resource in its own tier, the rest alphabetically in one, low ones last', () => {
    const tiers = restoreTiers([
      'deployments.apps',
      'clusters.cluster.x-k8s.io',
      'pods',
      'namespaces',
      'customresourcedefinitions.apiextensions.k8s.io',
      'configmaps',
      'horizontalpodautoscalers.autoscaling',
      'widgets.example.com',
    ]);
    expect(tiers).toEqual([
      ['customresourcedefinitions.apiextensions.k8s.io'],
      ['namespaces'],
      ['configmaps'],
      ['pods'],
      ['deployments.apps', 'horizontalpodautoscalers.autoscaling', 'widgets.example.com'],
      ['clusters.cluster.x-k8s.io'],
    ]);
  });

  it('returns every input resource exactly once and no empty tier', () => {
    const input = ['secrets', 'services', 'b.example.com', 'a.example.com', 'secrets'];
    const tiers = restoreTiers(input);
    expect(tiers.flat().sort()).toEqual([...new Set(input)].sort());
    expect(tiers.every((t) => t.length > 0)).toBe(true);
  });

  it('resolves unqualified entries to the core group, then a built-in group, then any group', () => {
    const priorities = parsePriorities('customresourcedefinitions,ingresses,widgets');
    const tiers = restoreTiers(
      [
        'customresourcedefinitions.apiextensions.k8s.io',
        'ingresses.networking.k8s.io',
        'ingresses.example.com',
        'widgets.b.io',
        'widgets.a.io',
      ],
      priorities,
    );
    expect(tiers).toEqual([
      ['customresourcedefinitions.apiextensions.k8s.io'],
      ['ingresses.networking.k8s.io'],
      ['widgets.a.io'],
      ['ingresses.example.com', 'widgets.b.io'],
    ]);
  });

  it('uses a configured order instead of the default', () => {
    expect(restoreTiers(['pods', 'secrets', 'jobs.batch'], parsePriorities('pods,-,secrets'))).toEqual([
      ['pods'],
      ['jobs.batch'],
      ['secrets'],
    ]);
  });
});

describe('parsePriorities (Velero --restore-resource-priorities)', () => {
  it.each([
    ['pods,secrets', { highPriorities: ['pods', 'secrets'], lowPriorities: [] }],
    [
      'pods, secrets ,-,clusters.cluster.x-k8s.io',
      { highPriorities: ['pods', 'secrets'], lowPriorities: ['clusters.cluster.x-k8s.io'] },
    ],
    ['-,late', { highPriorities: [], lowPriorities: ['late'] }],
  ])('%j', (text, expected) => {
    expect(parsePriorities(text)).toEqual(expected);
    expect(parsePriorities(formatPriorities(expected))).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['pods,,secrets', /entry 2 is empty/],
    ['a,-,b,-,c', /only once/],
  ])('rejects %j', (text, message) => {
    expect(() => parsePriorities(text)).toThrow(PrioritiesError);
    expect(() => parsePriorities(text)).toThrow(message);
  });

  it('round-trips the defaults', () => {
    expect(parsePriorities(formatPriorities(DEFAULT_RESTORE_PRIORITIES))).toEqual(DEFAULT_RESTORE_PRIORITIES);
  });
});

describe('admission comes last', () => {
  it('restores webhooks and admission policies after the objects they gate', () => {
    const tiers = restoreTiers([
      'validatingwebhookconfigurations.admissionregistration.k8s.io',
      'mutatingwebhookconfigurations.admissionregistration.k8s.io',
      'validatingadmissionpolicybindings.admissionregistration.k8s.io',
      'validatingadmissionpolicies.admissionregistration.k8s.io',
      'widgets.example.com',
      'deployments.apps',
      'namespaces',
      'packageinstalls.packaging.carvel.dev',
    ]);
    expect(tiers).toEqual([
      ['namespaces'],
      ['deployments.apps', 'widgets.example.com'],
      ['packageinstalls.packaging.carvel.dev'],
      ['validatingadmissionpolicies.admissionregistration.k8s.io'],
      ['validatingadmissionpolicybindings.admissionregistration.k8s.io'],
      ['mutatingwebhookconfigurations.admissionregistration.k8s.io'],
      ['validatingwebhookconfigurations.admissionregistration.k8s.io'],
    ]);
  });
});

describe('defaults come after what they would default', () => {
  it('restores LimitRanges after Pods and IngressClasses after Ingresses', () => {
    const tiers = restoreTiers([
      'limitranges',
      'pods',
      'ingressclasses.networking.k8s.io',
      'ingresses.networking.k8s.io',
    ]);
    const tierOf = (gr: string) => tiers.findIndex((t) => t.includes(gr));
    expect(tierOf('limitranges')).toBeGreaterThan(tierOf('pods'));
    expect(tierOf('ingressclasses.networking.k8s.io')).toBeGreaterThan(tierOf('ingresses.networking.k8s.io'));
  });
});
