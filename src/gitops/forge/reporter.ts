// What the reconciler tells the forge, best effort: a forge that is down, slow or refusing
// never stops a backup, a plan commit or the status write. Each failure is logged (without the
// token: ForgeError messages are scrubbed), counted by operation, and the next pass tries again
// — every call here is idempotent (find-or-open, upsert by marker, statuses by context).
import type { RestorePlan } from '../../restore/plan.js';
import type { Logger } from '../../observe/logger.js';
import type { Forge, PullRequest } from './forge.js';
import {
  APPLY_STATUS_CONTEXT,
  planErrorStatus,
  planMarker,
  planStatus,
  renderPlanComment,
  renderResultComment,
  resultMarker,
} from './plan-comment.js';

export interface ForgeReporterOptions {
  forge: Forge;
  /** The branch restore pull requests merge into (the reconciler's --branch). */
  base: string;
  log: Logger;
  /** Called with the operation for every failed forge call (the forge-errors metric). */
  onError?: (operation: string) => void;
}

export interface AppliedRestore {
  restore: string;
  phase: string;
  planHash: string;
  counts: Record<string, number>;
  failures?: readonly string[];
  /** The commit on the base branch that approved it (merge, squash or rebase). */
  mergeCommit?: string;
}

export class ForgeReporter {
  constructor(private readonly opts: ForgeReporterOptions) {}

  get forge(): Forge {
    return this.opts.forge;
  }

  /** A plan now on `branch` at `head`: its pull request, comment and lifeboat/plan status. */
  async planCommitted(p: {
    plan: RestorePlan;
    branch: string;
    head: string;
    planPath: string;
    approvalNeeded?: string;
  }): Promise<PullRequest | undefined> {
    return this.#try('plan', p.plan.restoreName, async () => {
      const planUrl = this.forge.fileUrl(p.branch, p.planPath);
      const { pr, opened } = await this.forge.findOrOpenPullRequest({
        head: p.branch,
        base: this.opts.base,
        title: `Restore ${p.plan.restoreName}`,
        body: `lifeboat's plan for restore \`${p.plan.restoreName}\` is in [${p.planPath}](${planUrl}). Merging approves it.`,
      });
      const comment = renderPlanComment(p.plan, {
        planUrl,
        ...(p.approvalNeeded ? { approvalNeeded: p.approvalNeeded } : {}),
      });
      await this.forge.upsertComment(pr.number, planMarker(p.plan.restoreName), comment);
      await this.forge.setStatus(
        p.head,
        planStatus(p.plan, {
          targetUrl: pr.url,
          ...(p.approvalNeeded ? { approvalNeeded: p.approvalNeeded } : {}),
        }),
      );
      this.opts.log.info(
        { restore: p.plan.restoreName, pr: pr.number, opened },
        'plan posted to the pull request',
      );
      return pr;
    });
  }

  /** A branch whose plan could not be made: the lifeboat/plan status says why. */
  async planFailed(p: { restore: string; head: string; reason: string }): Promise<void> {
    await this.#try('plan-status', p.restore, () => this.forge.setStatus(p.head, planErrorStatus(p.reason)));
  }

  /** After apply: the result on the pull request that approved it, a status on the merge commit. */
  async applied(r: AppliedRestore & { replan?: { branch: string; pr?: PullRequest } }): Promise<void> {
    await this.#try('result', r.restore, async () => {
      const pr = r.mergeCommit ? await this.forge.pullRequestOfCommit(r.mergeCommit) : undefined;
      if (pr) {
        await this.forge.upsertComment(
          pr.number,
          resultMarker(r.restore),
          renderResultComment({
            restore: r.restore,
            phase: r.phase,
            planHash: r.planHash,
            counts: r.counts,
            ...(r.failures ? { failures: r.failures } : {}),
            ...(r.replan
              ? { replan: { branch: r.replan.branch, ...(r.replan.pr ? { url: r.replan.pr.url } : {}) } }
              : {}),
          }),
        );
      }
      if (r.mergeCommit) {
        await this.forge.setStatus(r.mergeCommit, {
          context: APPLY_STATUS_CONTEXT,
          state: r.replan
            ? 'failure'
            : r.phase === 'Completed'
              ? 'success'
              : r.phase === 'InProgress'
                ? 'pending'
                : 'failure',
          description: r.replan
            ? `not applied: the plan went stale; review ${r.replan.branch}`
            : `restore ${r.restore}: ${r.phase}`,
          ...(pr ? { targetUrl: pr.url } : {}),
        });
      }
    });
  }

  async #try<T>(operation: string, restore: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.opts.onError?.(operation);
      this.opts.log.warn(
        { restore, operation, forge: this.forge.kind, err: err instanceof Error ? err.message : String(err) },
        'forge call failed; retried on the next pass',
      );
      return undefined;
    }
  }
}
