import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { backendsOf, backendWarning, hasReadyEndpoint } from './backends.js';

const VWC = 'validatingwebhookconfigurations.admissionregistration.k8s.io';

function webhooks(list: unknown[]): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'guard' },
    webhooks: list,
  };
}

describe('backendsOf', () => {
  it('lists the Service of each webhook, Fail by default, and skips URL webhooks', () => {
    const obj = webhooks([
      { name: 'a.example.com', clientConfig: { service: { namespace: 'sec', name: 'guard', port: 443 } } },
      {
        name: 'b.example.com',
        failurePolicy: 'Ignore',
        clientConfig: { service: { namespace: 'sec', name: 'g2' } },
      },
      { name: 'c.example.com', clientConfig: { url: 'https://example.com/hook' } },
    ]);
    expect(backendsOf(VWC, obj)).toEqual([
      {
        caller: 'webhook a.example.com',
        kind: 'webhook',
        failurePolicy: 'Fail',
        namespace: 'sec',
        name: 'guard',
      },
      {
        caller: 'webhook b.example.com',
        kind: 'webhook',
        failurePolicy: 'Ignore',
        namespace: 'sec',
        name: 'g2',
      },
    ]);
  });

  it('lists the Service of an aggregated API, none for a local one', () => {
    const api = (service?: object): KubeObject => ({
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io' },
      spec: { group: 'metrics.k8s.io', version: 'v1beta1', ...(service ? { service } : {}) },
    });
    expect(
      backendsOf('apiservices.apiregistration.k8s.io', api({ namespace: 'mon', name: 'metrics' })),
    ).toEqual([
      {
        caller: 'aggregated API metrics.k8s.io/v1beta1',
        kind: 'apiservice',
        namespace: 'mon',
        name: 'metrics',
      },
    ]);
    expect(backendsOf('apiservices.apiregistration.k8s.io', api())).toEqual([]);
  });

  it('ignores other resources', () => {
    expect(backendsOf('configmaps', webhooks([]))).toEqual([]);
  });
});

describe('backendWarning', () => {
  const hook = { caller: 'webhook a.example.com', kind: 'webhook' as const, namespace: 'sec', name: 'guard' };

  it('is silent when the restore brings the Service or it is ready', () => {
    expect(backendWarning({ ...hook, failurePolicy: 'Fail' }, 'restored')).toBeUndefined();
    expect(backendWarning({ ...hook, failurePolicy: 'Fail' }, 'ready')).toBeUndefined();
  });

  it.each([
    ['Fail', 'missing', /neither this restore nor the cluster.*refused/],
    ['Ignore', 'no-ready-endpoints', /no ready endpoints.*without the check/],
  ] as const)('warns for a %s webhook whose Service is %s', (failurePolicy, state, text) => {
    expect(backendWarning({ ...hook, failurePolicy }, state)).toMatch(text);
  });

  it('warns that an APIService without backend stalls namespace deletion', () => {
    const api = {
      caller: 'aggregated API m.example.com/v1',
      kind: 'apiservice' as const,
      namespace: 'm',
      name: 's',
    };
    expect(backendWarning(api, 'missing')).toMatch(/namespace deletion stalls/);
  });
});

describe('hasReadyEndpoint', () => {
  const slice = (endpoints: unknown[]): KubeObject => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 's' },
    endpoints,
  });
  it.each<[string, KubeObject[], boolean]>([
    ['no slices', [], false],
    ['an empty slice', [slice([])], false],
    ['only unready endpoints', [slice([{ addresses: ['10.0.0.1'], conditions: { ready: false } }])], false],
    ['a ready endpoint', [slice([{ addresses: ['10.0.0.1'], conditions: { ready: true } }])], true],
    ['an endpoint without conditions', [slice([{ addresses: ['10.0.0.1'] }])], true],
  ])('%s: %s', (_label, slices, expected) => {
    expect(hasReadyEndpoint(slices)).toBe(expected);
  });
});
