import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { namespaceCreateInterceptors, ruleMatchesNamespaceCreate } from './namespace-admission.js';

const rule = (over: Record<string, unknown> = {}) => ({
  apiGroups: [''],
  apiVersions: ['v1'],
  operations: ['CREATE'],
  resources: ['namespaces'],
  ...over,
});

function webhooks(kind: string, name: string, rules: unknown[]): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name },
    webhooks: [{ name: `${name}.example.com`, rules }],
  };
}

function policy(name: string, resourceRules?: unknown[]): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: resourceRules ? { matchConstraints: { resourceRules } } : {},
  };
}

describe('ruleMatchesNamespaceCreate', () => {
  it('matches the core group, CREATE and namespaces, each also as a wildcard', () => {
    expect(ruleMatchesNamespaceCreate(rule())).toBe(true);
    expect(ruleMatchesNamespaceCreate(rule({ apiGroups: ['*'], operations: ['*'], resources: ['*'] }))).toBe(
      true,
    );
    expect(ruleMatchesNamespaceCreate(rule({ resources: ['*/*'], scope: 'Cluster' }))).toBe(true);
    expect(ruleMatchesNamespaceCreate(rule({ scope: '*' }))).toBe(true);
  });

  it('does not match other groups, operations, resources, subresources or the namespaced scope', () => {
    expect(ruleMatchesNamespaceCreate(rule({ apiGroups: ['apps'] }))).toBe(false);
    expect(ruleMatchesNamespaceCreate(rule({ operations: ['UPDATE', 'DELETE'] }))).toBe(false);
    expect(ruleMatchesNamespaceCreate(rule({ resources: ['configmaps'] }))).toBe(false);
    expect(ruleMatchesNamespaceCreate(rule({ resources: ['namespaces/status'] }))).toBe(false);
    expect(ruleMatchesNamespaceCreate(rule({ resources: ['*'], scope: 'Namespaced' }))).toBe(false);
    expect(ruleMatchesNamespaceCreate({})).toBe(false);
  });
});

describe('namespaceCreateInterceptors', () => {
  it('names each webhook and policy that can see a Namespace create, and no other', () => {
    const found = namespaceCreateInterceptors([
      webhooks('ValidatingWebhookConfiguration', 'gate', [rule({ resources: ['pods'] }), rule()]),
      webhooks('MutatingWebhookConfiguration', 'pods-only', [rule({ resources: ['pods'] })]),
      webhooks('MutatingWebhookConfiguration', 'everything', [rule({ apiGroups: ['*'], resources: ['*'] })]),
      policy('names', [rule()]),
      policy('deployments', [rule({ apiGroups: ['apps'], resources: ['deployments'] })]),
    ]);
    expect(found).toEqual([
      'ValidatingWebhookConfiguration/gate (gate.example.com)',
      'MutatingWebhookConfiguration/everything (everything.example.com)',
      'ValidatingAdmissionPolicy/names',
    ]);
  });

  it('counts a policy whose rules cannot be read as one that can see it', () => {
    expect(namespaceCreateInterceptors([policy('odd')])).toEqual(['ValidatingAdmissionPolicy/odd']);
  });

  it('finds none in a cluster without webhooks or policies', () => {
    expect(namespaceCreateInterceptors([])).toEqual([]);
  });
});
