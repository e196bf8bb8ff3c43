import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { gitopsTrackingOf, stripGitopsTracking, trackingMessage } from './gitops-tracking.js';
import { prepareDesiredObject } from './plan.js';

const cm = (labels: Record<string, string>, annotations: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'shop', labels, annotations },
  data: { a: '1' },
});

describe('GitOps tracking marks', () => {
  it.each([
    ['Argo CD label tracking', cm({ 'argocd.argoproj.io/instance': 'shop' }), ['Argo CD application shop']],
    [
      'Argo CD annotation tracking with app.kubernetes.io/instance',
      cm(
        { 'app.kubernetes.io/instance': 'shop' },
        { 'argocd.argoproj.io/tracking-id': 'shop:/ConfigMap:shop/c' },
      ),
      ['Argo CD application shop'],
    ],
    [
      'a Flux Kustomization',
      cm({
        'kustomize.toolkit.fluxcd.io/name': 'apps',
        'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      }),
      ['Flux Kustomization flux-system/apps'],
    ],
    [
      'a Flux HelmRelease',
      cm({ 'helm.toolkit.fluxcd.io/name': 'redis', 'helm.toolkit.fluxcd.io/namespace': 'shop' }),
      ['Flux HelmRelease shop/redis'],
    ],
  ])('finds %s', (_what, obj, owners) => {
    expect(gitopsTrackingOf(obj)?.owners).toEqual(owners);
  });

  it('ignores app.kubernetes.io/instance alone (Helm and others set it too) and untracked objects', () => {
    expect(gitopsTrackingOf(cm({ 'app.kubernetes.io/instance': 'shop', app: 'web' }))).toBeUndefined();
    expect(gitopsTrackingOf(cm({}))).toBeUndefined();
  });

  it('strips the tracking marks and keeps every other label and annotation', () => {
    const obj = cm(
      {
        app: 'web',
        'app.kubernetes.io/instance': 'shop',
        'argocd.argoproj.io/instance': 'shop',
        'kustomize.toolkit.fluxcd.io/name': 'apps',
      },
      {
        'argocd.argoproj.io/tracking-id': 'shop:/ConfigMap:shop/c',
        'kustomize.toolkit.fluxcd.io/prune': 'disabled',
        note: 'x',
      },
    );
    const stripped = stripGitopsTracking(obj, gitopsTrackingOf(obj)!);
    expect(stripped.metadata.labels).toEqual({ app: 'web', 'app.kubernetes.io/instance': 'shop' });
    expect(stripped.metadata.annotations).toEqual({ note: 'x' });
    expect(obj.metadata.labels?.['argocd.argoproj.io/instance']).toBe('shop');
  });

  it('says what a kept object risks, and what was stripped', () => {
    const t = gitopsTrackingOf(cm({ 'argocd.argoproj.io/instance': 'shop' }))!;
    expect(trackingMessage(t, 'Keep').warning).toMatch(
      /^tracked by Argo CD application shop \(label argocd.argoproj.io\/instance=shop\): it may prune or overwrite/,
    );
    expect(trackingMessage(t, 'Strip').note).toMatch(
      /GitOps tracking removed .*argocd.argoproj.io\/instance=shop/,
    );
  });

  it('is applied when preparing the object to restore, after resource modifiers', () => {
    const obj = cm({ 'argocd.argoproj.io/instance': 'shop', app: 'web' });
    const opts = { groupResource: 'configmaps', backupName: 'b', restoreName: 'r', restoreStatus: false };
    const kept = prepareDesiredObject(obj, { ...opts, spec: {} });
    expect(kept.desired?.metadata.labels?.['argocd.argoproj.io/instance']).toBe('shop');
    expect('tracking' in kept && kept.tracking?.warning).toMatch(/tracked by Argo CD/);
    const stripped = prepareDesiredObject(obj, { ...opts, spec: { gitopsTracking: 'Strip' } });
    expect(stripped.desired?.metadata.labels?.['argocd.argoproj.io/instance']).toBeUndefined();
    expect(stripped.desired?.metadata.labels?.app).toBe('web');
    const modified = prepareDesiredObject(obj, {
      ...opts,
      spec: {
        resourceModifiers: {
          version: 'v1',
          resourceModifierRules: [
            {
              conditions: { groupResource: 'configmaps' },
              patches: [{ operation: 'remove', path: '/metadata/labels/argocd.argoproj.io~1instance' }],
            },
          ],
        },
      },
    });
    expect('tracking' in modified ? modified.tracking : undefined).toBeUndefined();
  });
});
