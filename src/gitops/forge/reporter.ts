// What the reconciler tells the forge, best effort: a forge that is down, slow or refusing
// never stops a backup, a plan commit or the status write. Each failure is logged (without the
// token: ForgeError messages are scrubbed), counted by operation, and remembered: the next pass
// calls retryPending() first, which makes the failed calls again — every call here is idempotent
// (find-or-open, upsert by marker, statuses by context). Without that, a plan committed while
// the forge was down would never reach its pull request, since an unchanged plan is not made
// again. What is remembered is small (names, branch, counts); a plan is read back from Git.
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
  /** Not applied although the plan is current: why (approval rules not met). */
  refused?: string;
}

/** A call that failed, kept to be made again on the next pass. */
type Pending =
  | { kind: 'plan'; restore: string; branch: string; planPath: string; approvalNeeded?: string }
  | { kind: 'plan-status'; restore: string; head: string; reason: string }
  | { kind: 'result'; applied: AppliedRestore & { replan?: { branch: string; pr?: PullRequest } } };

export class ForgeReporter {
  /** By operation and restore: a later call for the same replaces an earlier one. */
  readonly #pending = new Map<string, Pending>();

  constructor(private readonly opts: ForgeReporterOptions) {}

  /** How many failed calls wait to be made again. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /**
   * Make the calls that failed on earlier passes again. `planOf` reads a restore's plan and its
   * branch head from Git; a branch or plan that is gone drops its call.
   */
  async retryPending(
    planOf: (restore: string, branch: string) => Promise<{ plan: RestorePlan; head: string } | undefined>,
  ): Promise<void> {
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) {
      if (call.kind === 'plan') {
        const found = await planOf(call.restore, call.branch).catch(() => undefined);
        if (!found) continue;
        await this.planCommitted({
          plan: found.plan,
          branch: call.branch,
          head: found.head,
          planPath: call.planPath,
          ...(call.approvalNeeded ? { approvalNeeded: call.approvalNeeded } : {}),
        });
      } else if (call.kind === 'plan-status') await this.planFailed(call);
      else await this.applied(call.applied);
    }
  }

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
    const retry: Pending = {
      kind: 'plan',
      restore: p.plan.restoreName,
      branch: p.branch,
      planPath: p.planPath,
      ...(p.approvalNeeded ? { approvalNeeded: p.approvalNeeded } : {}),
    };
    const pr = await this.#try('plan', p.plan.restoreName, retry, async () => {
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
    // A plan is posted: an older "no plan" status waiting to be retried would only mislead.
    if (pr) this.#pending.delete(`plan-status/${p.plan.restoreName}`);
    return pr;
  }

  /** A branch whose plan could not be made: the lifeboat/plan status says why. */
  async planFailed(p: { restore: string; head: string; reason: string }): Promise<void> {
    await this.#try('plan-status', p.restore, { kind: 'plan-status', ...p }, () =>
      this.forge.setStatus(p.head, planErrorStatus(p.reason)),
    );
  }

  /** After apply: the result on the pull request that approved it, a status on the merge commit. */
  async applied(r: AppliedRestore & { replan?: { branch: string; pr?: PullRequest } }): Promise<void> {
    await this.#try('result', r.restore, { kind: 'result', applied: r }, async () => {
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
            ...(r.refused ? { refused: r.refused } : {}),
            ...(r.replan
              ? { replan: { branch: r.replan.branch, ...(r.replan.pr ? { url: r.replan.pr.url } : {}) } }
              : {}),
          }),
        );
      }
      if (r.mergeCommit) {
        await this.forge.setStatus(r.mergeCommit, {
          context: APPLY_STATUS_CONTEXT,
          state:
            r.replan || r.refused
              ? 'failure'
              : r.phase === 'Completed'
                ? 'success'
                : r.phase === 'InProgress'
                  ? 'pending'
                  : 'failure',
          description: r.refused
            ? r.refused
            : r.replan
              ? `not applied: the plan went stale; review ${r.replan.branch}`
              : `restore ${r.restore}: ${r.phase}`,
          ...(pr ? { targetUrl: pr.url } : {}),
        });
      }
    });
  }

  async #try<T>(
    operation: string,
    restore: string,
    retry: Pending,
    fn: () => Promise<T>,
  ): Promise<T | undefined> {
    const key = `${operation}/${restore}`;
    try {
      const value = await fn();
      this.#pending.delete(key);
      return value;
    } catch (err) {
      this.#pending.set(key, retry);
      this.opts.onError?.(operation);
      this.opts.log.warn(
        { restore, operation, forge: this.forge.kind, err: err instanceof Error ? err.message : String(err) },
        'forge call failed; retried on the next pass',
      );
      return undefined;
    }
  }
}
