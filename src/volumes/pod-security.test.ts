import { describe, expect, it } from 'vitest';
import {
  HELPER_UID,
  restoreWaitContext,
  restrictedContainerContext,
  restrictedPodContext,
  type SecurityContext,
} from './pod-security.js';

/** What the restricted Pod Security level asks of a container, given its pod's context. */
function restrictedProblems(pod: SecurityContext, container: SecurityContext): string[] {
  const problems: string[] = [];
  const nonRoot = container.runAsNonRoot ?? pod.runAsNonRoot;
  const user = container.runAsUser ?? pod.runAsUser;
  if (nonRoot !== true) problems.push('runAsNonRoot');
  if (user === 0) problems.push('runAsUser 0');
  if (container.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation');
  if (!container.capabilities?.drop?.includes('ALL')) problems.push('capabilities');
  const seccomp = (container.seccompProfile ?? pod.seccompProfile)?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push('seccompProfile');
  return problems;
}

describe('restricted contexts of lifeboat pods', () => {
  it('pass the restricted level, as a non-root numeric user, without fsGroup', () => {
    expect(restrictedProblems(restrictedPodContext(), restrictedContainerContext())).toEqual([]);
    expect(restrictedPodContext().runAsUser).toBe(HELPER_UID);
    expect(restrictedPodContext()).not.toHaveProperty('fsGroup');
  });
});

describe('restoreWaitContext', () => {
  it('is restricted, as the helper uid, when neither pod nor container says how to run', () => {
    const ctx = restoreWaitContext({ containers: [{ name: 'app' }] });
    expect(ctx).toEqual({
      runAsNonRoot: true,
      runAsUser: HELPER_UID,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(restrictedProblems({}, ctx)).toEqual([]);
  });

  it("runs as the pod's own user when the pod names one, so it reads the volume as the workload does", () => {
    const pod = { runAsUser: 1000, runAsGroup: 3000 };
    const ctx = restoreWaitContext({ securityContext: pod, containers: [{}] });
    expect(ctx).not.toHaveProperty('runAsUser');
    expect(ctx.runAsNonRoot).toBe(true);
    expect(restrictedProblems(pod, ctx)).toEqual([]);
  });

  it('leaves a pod that runs as root as root (no restricted namespace admits it anyway)', () => {
    const ctx = restoreWaitContext({ securityContext: { runAsUser: 0 }, containers: [{}] });
    expect(ctx).not.toHaveProperty('runAsUser');
    expect(ctx).not.toHaveProperty('runAsNonRoot');
    expect(ctx.allowPrivilegeEscalation).toBe(false);
  });

  it("copies the first container's securityContext, as Velero's restore helper does", () => {
    const first = {
      runAsUser: 999,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    };
    const spec = { containers: [{ securityContext: first }, { securityContext: { runAsUser: 5 } }] };
    const ctx = restoreWaitContext(spec);
    expect(ctx).toEqual(first);
    expect(ctx).not.toBe(first);
  });

  it('reads no context from a malformed spec', () => {
    expect(restoreWaitContext(undefined).runAsUser).toBe(HELPER_UID);
    expect(restoreWaitContext({ containers: [{ securityContext: {} }] }).runAsUser).toBe(HELPER_UID);
  });
});
