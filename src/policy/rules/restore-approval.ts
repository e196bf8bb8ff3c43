// What only a RestoreApproval has: namespace patterns and approvers that can name someone.
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { RestoreApprovalSpec } from '../types.js';
import { namespaceFilterError } from './k8s-names.js';

/** A forge login: no spaces or slashes (Gitea's and GitHub's logins are narrower still). */
const LOGIN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function restoreApprovalIssues(spec: RestoreApprovalSpec): Issue[] {
  const issues: Issue[] = [];
  spec.namespaces.forEach((ns, i) => {
    const error = namespaceFilterError(ns);
    if (ns === '' || error)
      issues.push(
        issue('namespace', ['spec', 'namespaces', i], `namespace pattern "${ns}" ${error ?? 'is empty'}`),
      );
  });
  const users = spec.approvers.users ?? [];
  const teams = spec.approvers.teams ?? [];
  if (users.length === 0 && teams.length === 0) {
    issues.push(
      issue(
        'approval',
        ['spec', 'approvers'],
        'name at least one approver in users or teams: a rule nobody can satisfy would block every restore it covers',
        'key',
      ),
    );
  }
  users.forEach((u, i) => {
    if (!LOGIN.test(u))
      issues.push(issue('approval', ['spec', 'approvers', 'users', i], `"${u}" is not a forge user login`));
  });
  teams.forEach((t, i) => {
    const [org, team, ...rest] = t.split('/');
    if (!org || !team || rest.length > 0 || !LOGIN.test(org) || !/^[A-Za-z0-9_.-]+$/.test(team))
      issues.push(
        issue('approval', ['spec', 'approvers', 'teams', i], `"${t}" is not a team as organization/team`),
      );
  });
  return issues;
}
