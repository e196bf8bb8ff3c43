// `lifeboat reconcile --once`, `lifeboat run` and `lifeboat audit`: the GitOps side.
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { WorkingCopy } from '../../gitops/working-copy.js';
import { auditEvents, formatAuditTable, withBucketBackups } from '../../gitops/audit-log.js';
import { parseDuration } from '../../util/duration.js';
import { reconcileOnce, type ReconcilerDeps } from '../../reconcile/pass.js';
import { PassTrigger, runLoop } from '../../reconcile/loop.js';
import { forgeFromFlags, type ForgeFlags } from '../../gitops/forge/from-flags.js';
import { ForgeReporter } from '../../gitops/forge/reporter.js';
import { withForgeApprovals } from '../../gitops/forge/audit.js';
import { WEBHOOK_PATH, webhookHandler } from '../../gitops/forge/webhook.js';
import type { Metrics } from '../../observe/metrics.js';
import { readFileSync } from 'node:fs';
import { BucketLock, defaultIdentity, LeaseLock, type Leadership } from '../../reconcile/leader.js';
import { loadPolicyRepo, PolicyFileCache } from '../../policy/load.js';
import {
  policyCacheFilePath,
  policyCacheKey,
  readPolicyCacheFile,
  writePolicyCacheFile,
} from '../../policy/policy-cache-file.js';
import { resolveStorageLocation } from '../../policy/convert.js';
import { openLocation } from '../../reconcile/locations.js';
import { bucketBackups } from '../../reconcile/audit-bucket.js';
import { act } from '../action.js';
import type { CliContext } from '../context.js';
import { render, UsageError } from '../output.js';
import { EXIT } from '../exit-codes.js';
import { pauseOptimizingCompiler, resumeOptimizingCompiler } from '../../util/optimizing-compiler.js';

interface RepoFlags extends ForgeFlags {
  repo: string;
  workdir: string;
  branch: string;
  statusBranch?: string;
  restoreBranches: string;
  dataDir: string;
  allowLinkLocalEndpoints?: boolean;
  leftoverGrace?: string;
  restic: string;
  restoreWaitImage?: string;
}

function addRepoOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      '--repo <url>',
      'the policy repository (a URL or path Git can clone); $LIFEBOAT_GIT_TOKEN is used for HTTPS',
    )
    .option(
      '--workdir <dir>',
      "the reconciler's own checkout (created; reset to the remote every pass)",
      '.lifeboat/repo',
    )
    .option('--branch <name>', 'the branch people merge into', 'main')
    .option('--status-branch <name>', 'write status to this branch instead of --branch')
    .option('--restore-branches <glob>', 'review branches that may propose restores', 'restore/*')
    .option('--data-dir <dir>', 'relative local storage locations resolve against this directory', '.')
    .option(
      '--allow-link-local-endpoints',
      'let StorageLocations use link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10) as s3Url',
    )
    .option(
      '--leftover-grace <duration>',
      'how long a half-written backup or an unfinished upload must be idle before it is cleaned up',
      '1h',
    )
    .option(
      '--restic <path>',
      'the restic binary (forgets and prunes the restic snapshots of expired backups)',
      'restic',
    )
    .option(
      '--restore-wait-image <image>',
      "the init container that holds a restored pod until its copied volumes are filled (default: lifeboat's image)",
    )
    .option('--forge <kind>', 'post plans, comments and statuses to pull requests on this forge (gitea)')
    .option('--forge-url <url>', "the forge's base URL")
    .option('--forge-repo <owner/name>', 'the policy repository on the forge (default: from --repo)')
    .option('--forge-token-file <path>', 'file with the forge token (default: $LIFEBOAT_FORGE_TOKEN)');
}

/**
 * The token for an HTTPS URL without credentials of its own; Git gets it per process, never on
 * disk. Plain http only to this machine (a forge on loopback, as the demo's): elsewhere the
 * token would cross the network in the clear.
 */
export function httpsToken(url: string, token: string | undefined): string | undefined {
  if (!token || !/^https?:\/\//.test(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.username !== '') return undefined;
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) return undefined;
  return token;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function workingCopy(flags: RepoFlags, onPushRetry?: () => void): WorkingCopy {
  const sshKey = process.env.LIFEBOAT_GIT_SSH_KEY;
  const token = httpsToken(flags.repo, process.env.LIFEBOAT_GIT_TOKEN);
  return new WorkingCopy({
    remoteUrl: flags.repo,
    ...(token ? { httpToken: token } : {}),
    dir: resolve(flags.workdir),
    branch: flags.branch,
    ...(flags.statusBranch ? { statusBranch: flags.statusBranch } : {}),
    ...(sshKey
      ? {
          env: {
            GIT_SSH_COMMAND: `ssh -i ${sshKey} -o BatchMode=yes -o IdentitiesOnly=yes${process.env.LIFEBOAT_GIT_KNOWN_HOSTS ? ` -o UserKnownHostsFile=${process.env.LIFEBOAT_GIT_KNOWN_HOSTS}` : ''}`,
          },
        }
      : {}),
    ...(onPushRetry ? { onPushRetry } : {}),
  });
}

function forgeReporter(ctx: CliContext, flags: RepoFlags, metrics?: Metrics): ForgeReporter | undefined {
  const forge = forgeFromFlags(flags, flags.repo, process.env);
  if (!forge) return undefined;
  return new ForgeReporter({
    forge,
    base: flags.branch,
    log: ctx.log,
    ...(metrics ? { onError: (operation: string) => metrics.forgeErrors.inc({ operation }) } : {}),
  });
}

function reconcilerDeps(
  ctx: CliContext,
  flags: RepoFlags,
  wc: WorkingCopy,
  metrics?: Metrics,
): ReconcilerDeps {
  const forge = forgeReporter(ctx, flags, metrics);
  return {
    ...(forge ? { forge } : {}),
    ...(metrics ? { metrics } : {}),
    wc,
    kube: () => ctx.kube(),
    log: ctx.log,
    localRoot: resolve(flags.dataDir),
    restoreBranches: flags.restoreBranches,
    archiveLimits: ctx.archiveLimits,
    allowMissingChecksum: ctx.allowMissingChecksum,
    allowLinkLocalEndpoints: flags.allowLinkLocalEndpoints === true,
    ...(flags.leftoverGrace ? { leftoverGraceMs: leftoverGraceMs(flags.leftoverGrace) } : {}),
    restic: { binary: flags.restic },
    ...(flags.restoreWaitImage ? { restoreWaitImage: flags.restoreWaitImage } : {}),
  };
}

function leftoverGraceMs(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new UsageError('--leftover-grace must be positive');
  return ms;
}

export function reconcileCommand(): Command {
  const cmd = addRepoOptions(
    new Command('reconcile').description(
      'run one reconcile pass: pull, validate, back up, expire, plan and apply restores, write status',
    ),
  )
    .option('--once', 'run one pass and exit (the only mode of this command; `lifeboat run` loops)')
    .addHelpText(
      'after',
      `
Examples:
  lifeboat reconcile --once --repo git@github.com:acme/backup-policies.git
  lifeboat reconcile --once --repo ./policies.git --workdir /tmp/lb-checkout -o json`,
    );
  cmd.action(
    act<[RepoFlags]>(cmd, async (ctx, format, flags) => {
      // One pass and exit: a quiet one ends before optimized code would pay back its compiling.
      pauseOptimizingCompiler();
      const wc = workingCopy(flags);
      // What the last pass in this workdir parsed and checked: unchanged files are not again.
      const cacheFile = policyCacheFilePath(wc.dir);
      const cacheKey = await policyCacheKey();
      const policyCache = cacheKey
        ? await readPolicyCacheFile(cacheFile, cacheKey, {
            onIgnored: (reason) => ctx.log.debug({ file: cacheFile, reason }, 'policy cache file ignored'),
          })
        : undefined;
      const report = await reconcileOnce({
        ...reconcilerDeps(ctx, flags, wc),
        ...(policyCache ? { policyCache } : {}),
        beforeWork: resumeOptimizingCompiler,
      });
      if (cacheKey && policyCache?.changed) {
        await writePolicyCacheFile(cacheFile, cacheKey, policyCache).catch((error: unknown) =>
          ctx.log.warn(
            { file: cacheFile, err: (error as Error).message },
            'cannot write the policy cache file',
          ),
        );
      }
      process.stdout.write(
        render(report, format, () => {
          const lines = [
            `policy revision ${report.revision.slice(0, 12)}: ${report.actions.length} action(s), ${report.policyErrors} policy error(s)`,
          ];
          for (const e of report.events)
            lines.push(`  ${e.action} ${e.subject}: ${e.outcome}${e.error ? ` — ${e.error}` : ''}`);
          lines.push(
            report.statusCommit
              ? `status committed: ${report.statusCommit.slice(0, 12)}`
              : 'status unchanged',
          );
          return lines.join('\n') + '\n';
        }),
      );
      const failed = report.events.some((e) => e.error !== undefined);
      return failed ? EXIT.partial : report.policyErrors > 0 ? EXIT.invalid : EXIT.ok;
    }),
  );
  return cmd;
}

export function runCommand(): Command {
  const cmd = addRepoOptions(
    new Command('run').description('reconcile continuously (the in-cluster Deployment runs this)'),
  )
    .option('--interval <duration>', 'time between passes (Go duration)', '1m')
    .option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (0: off)', '8080')
    .addOption(
      new Option(
        '--leader-election <mode>',
        'one reconciler at a time: lease (in a cluster), bucket, or none',
      ).default(process.env.KUBERNETES_SERVICE_HOST ? 'lease' : 'bucket'),
    )
    .option('--lease-namespace <ns>', 'namespace of the Lease', process.env.POD_NAMESPACE ?? 'lifeboat')
    .option(
      '--webhook-secret-file <path>',
      `serve the forge webhook on ${WEBHOOK_PATH} of the metrics port, signed with this secret (default: $LIFEBOAT_WEBHOOK_SECRET)`,
    )
    .addHelpText(
      'after',
      `
Examples:
  lifeboat run --repo https://git.example.com/platform/backup-policies.git --interval 1m
  lifeboat run --repo ./policies.git --leader-election bucket --metrics-port 9090`,
    );
  cmd.action(
    act<
      [
        RepoFlags & {
          interval: string;
          metricsPort: string;
          leaderElection: string;
          leaseNamespace: string;
          webhookSecretFile?: string;
        },
      ]
    >(cmd, async (ctx, _format, flags) => {
      const intervalMs = parseDuration(flags.interval);
      if (intervalMs <= 0) throw new UsageError('--interval must be positive');
      // Loaded here, not at the top: `reconcile --once` serves no metrics, and prom-client and
      // the HTTP server cost a one-shot pass ~0.1 s of CPU to load.
      const { createMetrics } = await import('../../observe/metrics.js');
      const { startObserveServer } = await import('../../observe/server.js');
      const metrics = createMetrics();
      const wc = workingCopy(flags, () => metrics.gitPushRetries.inc());
      // Every pass loads the policies; files unchanged since the last pass are not parsed again.
      const deps: ReconcilerDeps = {
        ...reconcilerDeps(ctx, flags, wc, metrics),
        policyCache: new PolicyFileCache(),
      };
      const trigger = new PassTrigger();
      const secret = webhookSecret(flags);
      let lastOk: number | undefined;
      let lastError: string | undefined = 'no pass has completed yet';
      const port = Number(flags.metricsPort);
      const server =
        port > 0
          ? await startObserveServer({
              port,
              registry: metrics.registry,
              ...(secret
                ? {
                    routes: {
                      [WEBHOOK_PATH]: webhookHandler({
                        secret,
                        onAccepted: (event) => {
                          ctx.log.info({ event }, 'webhook: starting a pass');
                          trigger.fire();
                        },
                        onOutcome: (outcome) => metrics.webhookRequests.inc({ outcome }),
                      }),
                    },
                  }
                : {}),
              readiness: {
                notReadyReason: () =>
                  lastOk !== undefined && Date.now() - lastOk < intervalMs * 3 + 60_000
                    ? undefined
                    : (lastError ?? 'stale'),
              },
            })
          : undefined;
      const leadership = await leadershipFor(flags, ctx);
      const controller = new AbortController();
      const stop = (): void => {
        ctx.log.info('stopping after the current step');
        controller.abort();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await runLoop(deps, {
        intervalMs,
        trigger,
        signal: controller.signal,
        log: ctx.log,
        ...(leadership ? { leadership } : {}),
        onPass: (report, err) => {
          if (report) {
            lastOk = Date.now();
            lastError = undefined;
          } else lastError = err instanceof Error ? err.message : String(err);
        },
      });
      server?.close();
      return EXIT.ok;
    }),
  );
  return cmd;
}

/** The webhook's HMAC secret from a file (a mounted Secret) or the environment; none: no webhook. */
function webhookSecret(flags: { webhookSecretFile?: string }): string | undefined {
  const secret = flags.webhookSecretFile
    ? readFileSync(flags.webhookSecretFile, 'utf8').trim()
    : process.env.LIFEBOAT_WEBHOOK_SECRET?.trim();
  return secret || undefined;
}

async function leadershipFor(
  flags: RepoFlags & { leaderElection: string; leaseNamespace: string },
  ctx: CliContext,
): Promise<Leadership | undefined> {
  if (flags.leaderElection === 'none') return undefined;
  if (flags.leaderElection === 'lease')
    return new LeaseLock({
      kube: await ctx.kube(),
      namespace: flags.leaseNamespace,
      identity: defaultIdentity(),
    });
  if (flags.leaderElection !== 'bucket')
    throw new UsageError('--leader-election must be lease, bucket or none');
  // The lock lives in the default storage location of the policy repository.
  const wc = workingCopy(flags);
  await wc.sync();
  const allowLinkLocalEndpoints = flags.allowLinkLocalEndpoints === true;
  const { documents } = await loadPolicyRepo({ dir: wc.dir, rules: { allowLinkLocalEndpoints } });
  const def = resolveStorageLocation(documents);
  if (!def) throw new Error('no default storage location for the reconciler lock');
  const loc = await openLocation(def.name, def.spec, {
    kube: () => ctx.kube(),
    localRoot: resolve(flags.dataDir),
    allowLinkLocalEndpoints,
  });
  return new BucketLock(loc.store, defaultIdentity());
}

export function auditCommand(): Command {
  const cmd = addRepoOptions(
    new Command('audit').description(
      'who requested, approved and applied each restore; backups taken and expired',
    ),
  )
    .option('--restore <name>', 'only this restore')
    .option('--since <date>', 'only events after this date (ISO 8601)')
    .option(
      '--no-bucket',
      'do not list the storage locations for backups Git has no record of (shown as source bucket)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  lifeboat audit --repo ./policies.git\n  lifeboat audit --repo ./policies.git --restore shop-restore -o json',
    );
  cmd.action(
    act<[RepoFlags & { restore?: string; since?: string; bucket: boolean }]>(
      cmd,
      async (ctx, format, flags) => {
        const wc = workingCopy(flags);
        await wc.sync();
        const since = flags.since ? new Date(flags.since) : undefined;
        if (since && Number.isNaN(since.getTime()))
          throw new UsageError(`--since ${flags.since}: not a date`);
        const options = { ...(since ? { since } : {}), ...(flags.restore ? { restore: flags.restore } : {}) };
        let events = await auditEvents(wc, options);
        // Backups only: an audit of one restore has nothing to add from the bucket.
        if (flags.bucket && !flags.restore) {
          const listing = await bucketBackups({
            dir: wc.dir,
            kube: () => ctx.kube(),
            localRoot: resolve(flags.dataDir),
            log: ctx.log,
          });
          for (const problem of listing.problems) process.stderr.write(`warning: ${problem}\n`);
          events = withBucketBackups(events, listing.found, options);
        }
        const forge = forgeFromFlags(flags, flags.repo, process.env);
        if (forge) {
          const withForge = await withForgeApprovals(events, forge);
          for (const w of withForge.warnings) process.stderr.write(`warning: ${w}\n`);
          events = withForge.events;
        }
        process.stdout.write(render(events, format, () => formatAuditTable(events)));
        return EXIT.ok;
      },
    ),
  );
  return cmd;
}
