// Who asked for a file (e.g. restores/<name>.yaml) and who let it onto the main branch.
//
// Approval = the file arrived on main. We look along main's first-parent chain (the
// commits that were "on main" at some point) for the commit that added the file:
//
// - a merge commit (`git merge --no-ff`, a forge's "Create a merge commit"): `via: 'merge'`.
//   The approver is the merge commit's AUTHOR: on web merges GitHub records the person who
//   pressed "merge" as author and itself ("GitHub <noreply@github.com>") as committer; on
//   the command line both are the same person. The requester is the author of the first
//   commit that added the file on the merged branch.
// - a single-parent commit: `via: 'linear'`. This is what fast-forward merges, squash
//   merges, rebase merges and direct pushes all look like, and Git cannot tell them apart
//   nor record who pushed. We accept it (squash merges are common and forces usually
//   protect main), report the commit's committer as approver and its author as requester,
//   and expose `via` so a stricter policy can demand 'merge'. Recommend `--no-ff` merges and
//   branch protection on main: then the merge commit names the approver.
//
// If the file was deleted and added again, the most recent addition counts.
import { logFormat, parseLog } from './git-log.js';
import type { LogCommit, Person } from './git-log.js';
import { checkRepoPath } from './repo-paths.js';
import type { WorkingCopy } from './working-copy.js';

export type ApprovalVia = 'merge' | 'linear';

export interface Approval {
  path: string;
  via: ApprovalVia;
  /** The commit on main's first-parent chain that brought the file: the merge, or the commit itself. */
  mergeCommit: string;
  mergedBy: Person;
  mergedAt: Date;
  /** The commit that first added the file (on the merged branch, or mergeCommit when linear). */
  requestCommit: string;
  requestedBy: Person;
  requestedAt: Date;
  /** The merged branch, when the merge commit's subject names it. */
  branch?: string;
}

/** Find when and how `path` reached `branch` (default: the working copy's main branch). */
export async function findApproval(
  workingCopy: WorkingCopy,
  options: { path: string; branch?: string },
): Promise<Approval | undefined> {
  const path = checkRepoPath(options.path);
  const ref = workingCopy.remoteRef(options.branch ?? workingCopy.branch);
  const out = await workingCopy.log([
    '--first-parent',
    '--diff-filter=A',
    '--max-count=1',
    logFormat(),
    ref,
    '--',
    path,
  ]);
  const arrival = parseLog(out)[0]?.commit;
  return arrival === undefined ? undefined : approvalFromArrival(workingCopy, { arrival, path });
}

/** Build the approval for a commit on main's first-parent chain that added `path`. */
export async function approvalFromArrival(
  workingCopy: WorkingCopy,
  options: { arrival: LogCommit; path: string },
): Promise<Approval> {
  const { arrival, path } = options;
  const [mainParent] = arrival.parents;
  if (arrival.parents.length < 2 || mainParent === undefined) {
    return {
      path,
      via: 'linear',
      mergeCommit: arrival.sha,
      mergedBy: arrival.committer,
      mergedAt: arrival.committedAt,
      requestCommit: arrival.sha,
      requestedBy: arrival.author,
      requestedAt: arrival.authoredAt,
    };
  }
  // Commits the merge brought in (every merged parent, so octopus merges work too).
  const out = await workingCopy.log([
    '--no-merges',
    '--diff-filter=A',
    '--reverse',
    logFormat(),
    `${mainParent}..${arrival.sha}`,
    '--',
    path,
  ]);
  const request = parseLog(out)[0]?.commit ?? arrival;
  const branch = mergedBranchFromSubject(arrival.subject);
  return {
    path,
    via: 'merge',
    mergeCommit: arrival.sha,
    mergedBy: arrival.author,
    mergedAt: arrival.committedAt,
    requestCommit: request.sha,
    requestedBy: request.author,
    requestedAt: request.authoredAt,
    ...(branch === undefined ? {} : { branch }),
  };
}

// Default merge messages of Git and the common forges.
const MERGE_SUBJECTS: readonly RegExp[] = [
  /^Merge branch '([^']+)'/, // git merge; GitLab ("... into 'main'")
  /^Merge remote-tracking branch '(?:[^'/]+\/)?([^']+)'/, // git merge origin/x
  /^Merge pull request #\d+ from [^/\s]+\/(\S+)/, // GitHub
  /^Merge pull request '.*' \(#\d+\) from (\S+) into /, // Gitea / Forgejo
  /^Merged in (\S+) \(pull request #\d+\)/, // Bitbucket
];

/** The branch a merge commit merged, read from its subject; undefined if not recognised. */
export function mergedBranchFromSubject(subject: string): string | undefined {
  for (const pattern of MERGE_SUBJECTS) {
    const name = pattern.exec(subject)?.[1];
    if (name) return name;
  }
  return undefined;
}
