// `lifeboat audit` with a forge: the restore-approved events (a Restore arriving on main) get
// the pull request that brought them, who merged it and who approved it, from the forge — the
// only record of approvers, and the only record of the merger after a squash or rebase merge,
// where Git shows just the committer. Without a forge, or when it cannot be asked, the events
// stay as Git tells them and a warning says why.
import type { AuditEvent } from '../audit-log.js';
import { approvers, type Forge } from './forge.js';

export interface ForgeApproval {
  pullRequest: number;
  url: string;
  mergedBy?: string;
  approvers: string[];
}

export async function withForgeApprovals(
  events: readonly AuditEvent[],
  forge: Forge,
): Promise<{ events: (AuditEvent & { forge?: ForgeApproval })[]; warnings: string[] }> {
  const warnings: string[] = [];
  const out: (AuditEvent & { forge?: ForgeApproval })[] = [];
  for (const event of events) {
    if (event.type !== 'restore-approved' || event.source === 'bucket') {
      out.push(event);
      continue;
    }
    try {
      const pr = await forge.pullRequestOfCommit(event.commit);
      if (!pr) {
        out.push(event);
        continue;
      }
      const found: ForgeApproval = {
        pullRequest: pr.number,
        url: pr.url,
        ...(pr.mergedBy ? { mergedBy: pr.mergedBy } : {}),
        approvers: approvers(await forge.reviews(pr.number)),
      };
      const who = `merged by ${found.mergedBy ?? '?'}, approved by ${found.approvers.join(', ') || 'nobody'}`;
      out.push({ ...event, forge: found, summary: `${event.summary} (#${pr.number}: ${who})` });
    } catch (err) {
      warnings.push(
        `${forge.kind}: ${err instanceof Error ? err.message : String(err)}; ${event.commit.slice(0, 12)} shown from Git only`,
      );
      out.push(event);
    }
  }
  return { events: out, warnings };
}
