// What lifeboat asks of a forge (Gitea today; GitHub and GitLab can follow): the pull request
// of a review branch, one comment it keeps up to date, commit statuses, and who approved and
// who merged. Small on purpose: every adapter implements all of it against a real server, and
// plain Git keeps working without any forge (ARCHITECTURE.md).

export interface PullRequest {
  number: number;
  /** The web page of the pull request. */
  url: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  /** Login of whoever merged it, when merged. */
  mergedBy?: string;
  /** The commit the merge left on the base branch (merge, squash or rebase). */
  mergeCommit?: string;
  mergedAt?: string;
}

export type StatusState = 'pending' | 'success' | 'failure' | 'error';

export interface CommitStatus {
  /** The check's name, e.g. lifeboat/plan. */
  context: string;
  state: StatusState;
  /** One line; forges cut long ones. */
  description: string;
  targetUrl?: string;
}

export interface Review {
  user: string;
  state: 'approved' | 'changes-requested' | 'commented' | 'other';
  /** The commit reviewed. */
  commit?: string;
  /** Dismissed, or made stale by a later push: it no longer counts. */
  stale: boolean;
}

export interface Forge {
  /** 'gitea'; names the adapter in logs and the audit. */
  readonly kind: string;
  /** The open pull request from head into base, opened with title and body when there is none. */
  findOrOpenPullRequest(opts: {
    head: string;
    base: string;
    title: string;
    body: string;
  }): Promise<{ pr: PullRequest; opened: boolean }>;
  /** The pull request that brought this commit to its branch (merge, squash or rebase), if any. */
  pullRequestOfCommit(sha: string): Promise<PullRequest | undefined>;
  /**
   * The one comment on a pull request that contains `marker` (a hidden HTML comment), edited in
   * place, or created when there is none.
   */
  upsertComment(pr: number, marker: string, body: string): Promise<{ id: number; created: boolean }>;
  setStatus(sha: string, status: CommitStatus): Promise<void>;
  reviews(pr: number): Promise<Review[]>;
  /** Logins of a team's members; `team` is `organization/team` (approval rules name teams so). */
  teamMembers(team: string): Promise<string[]>;
  /** Links to a file on a branch, for comments. */
  fileUrl(branch: string, path: string): string;
}

/** Who approved (reviews that still count) — the last review of each user decides. */
export function approvers(reviews: readonly Review[]): string[] {
  const last = new Map<string, Review>();
  for (const r of reviews) {
    if (r.state === 'commented' || r.state === 'other') continue;
    last.set(r.user, r);
  }
  return [...last.values()]
    .filter((r) => r.state === 'approved' && !r.stale)
    .map((r) => r.user)
    .sort();
}
