// `lifeboat restore …`: plan, apply, list, describe, logs.
import { readFile, writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { RestoreSpec, ResourceModifiers } from '../../restore/spec.js';
import { applyRestore, planRestore, StalePlanError, type RestoreResult } from '../../restore/engine.js';
import type { RestorePlan } from '../../restore/plan.js';
import { renderPlanJson, renderPlanMarkdown } from '../../restore/plan-render.js';
import { getRestore, listRestores, readRestoreLog } from '../../restore/catalog.js';
import { parseLabelSelector, parseOrLabelSelectors } from '../../backup/label-selector.js';
import { act } from '../action.js';
import type { CliContext, FsRepository } from '../context.js';
import { render, table, UsageError } from '../output.js';
import { createProgress } from '../progress.js';
import { EXIT } from '../exit-codes.js';
import { parsePriorities, type Priorities } from '../../restore/order.js';
import { fillRepositoryWarning, requireFillRepository, type StorageFlags } from '../volume-flags.js';

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

interface SpecFlags {
  fromBackup?: string;
  fromSchedule?: string;
  includeNamespaces?: string[];
  excludeNamespaces?: string[];
  includeResources?: string[];
  excludeResources?: string[];
  includeClusterResources?: string;
  selector?: string;
  orSelector?: string;
  namespaceMappings?: string[];
  existingResourcePolicy?: 'none' | 'update';
  restoreStatus?: string[];
  preserveNodeports?: boolean;
  restorePvs?: boolean;
  resourceModifiers?: string;
  restoreResourcePriorities?: string;
  gitopsTracking?: 'keep' | 'strip';
  restoreWaitImage?: string;
}

function prioritiesOf(f: SpecFlags): { priorities?: Priorities } {
  return f.restoreResourcePriorities ? { priorities: parsePriorities(f.restoreResourcePriorities) } : {};
}

/**
 * What file-system volume restores need, in plan and apply alike (the plan hash covers the
 * restore-wait container's image): the location's restic repository and the image.
 */
async function fsRestoreOf(
  ctx: CliContext,
  f: SpecFlags,
): Promise<{ fsRestore?: FsRepository; restoreWaitImage?: string }> {
  const fsRestore = await ctx.fsRepository();
  return {
    ...(fsRestore ? { fsRestore } : {}),
    ...(f.restoreWaitImage ? { restoreWaitImage: f.restoreWaitImage } : {}),
  };
}

function addSpecOptions(cmd: Command): Command {
  return cmd
    .option('--from-backup <name>', 'restore from this backup')
    .option('--from-schedule <name>', 'restore from the latest Completed backup of this schedule')
    .option('--include-namespaces <list>', 'namespaces to restore (default all)', list)
    .option('--exclude-namespaces <list>', 'namespaces not to restore', list)
    .option('--include-resources <list>', 'resources to restore', list)
    .option('--exclude-resources <list>', 'resources not to restore', list)
    .option('--include-cluster-resources <mode>', 'cluster-scoped objects: true, false or auto', 'auto')
    .option('-l, --selector <selector>', 'only objects matching this label selector')
    .option('--or-selector <selectors>', 'objects matching any of these selectors, separated by " or "')
    .option('--namespace-mappings <list>', 'restore namespace A into B: A:B,C:D', list)
    .addOption(
      new Option(
        '--existing-resource-policy <policy>',
        'objects that exist and differ: none or update',
      ).choices(['none', 'update']),
    )
    .option('--restore-status <list>', 'resources whose status is restored too', list)
    .option('--preserve-nodeports', 'keep Service nodePorts from the backup')
    .option('--restore-pvs', 'restore PersistentVolumes (Velero default: true)')
    .option('--resource-modifiers <file>', 'a Velero resource-modifiers YAML file (version: v1)')
    .option(
      '--restore-wait-image <image>',
      "the init container that holds a restored pod until its copied volumes are filled (default: lifeboat's image)",
    )
    .addOption(
      new Option(
        '--gitops-tracking <mode>',
        'Argo CD / Flux tracking labels on restored objects: keep (flagged in the plan) or strip',
      ).choices(['keep', 'strip']),
    );
}

async function specFromFlags(f: SpecFlags): Promise<RestoreSpec> {
  if (!f.fromBackup && !f.fromSchedule)
    throw new UsageError('give --from-backup NAME or --from-schedule NAME');
  const mapping = namespaceMappingFlag(f.namespaceMappings ?? []);
  const includeClusterResources = includeClusterResourcesFlag(f.includeClusterResources);
  const resourceModifiers = f.resourceModifiers
    ? (parseYaml(await readFile(f.resourceModifiers, 'utf8')) as ResourceModifiers)
    : undefined;
  // Only the flags given become fields, so the spec (and the plan hash) says what was asked.
  const fields: Partial<RestoreSpec> = {
    backupName: f.fromBackup,
    scheduleName: f.fromSchedule,
    includedNamespaces: f.includeNamespaces,
    excludedNamespaces: f.excludeNamespaces,
    includedResources: f.includeResources,
    excludedResources: f.excludeResources,
    includeClusterResources,
    labelSelector: f.selector ? parseLabelSelector(f.selector) : undefined,
    orLabelSelectors: f.orSelector ? parseOrLabelSelectors(f.orSelector) : undefined,
    namespaceMapping: Object.keys(mapping).length > 0 ? mapping : undefined,
    existingResourcePolicy: f.existingResourcePolicy,
    restoreStatus: f.restoreStatus ? { includedResources: f.restoreStatus } : undefined,
    preserveNodePorts: f.preserveNodeports ? true : undefined,
    restorePVs: f.restorePvs ? true : undefined,
    resourceModifiers,
    gitopsTracking: f.gitopsTracking ? (f.gitopsTracking === 'strip' ? 'Strip' : 'Keep') : undefined,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== ''));
}

function namespaceMappingFlag(pairs: string[]): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const pair of pairs) {
    const [from, to, extra] = pair.split(':');
    if (!from || !to || extra !== undefined)
      throw new UsageError(`--namespace-mappings: ${JSON.stringify(pair)} is not FROM:TO`);
    mapping[from] = to;
  }
  return mapping;
}

function includeClusterResourcesFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === 'auto') return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(
    `--include-cluster-resources must be true, false or auto, not ${JSON.stringify(value)}`,
  );
}

function resultSummary(r: RestoreResult): string {
  const lines = [
    `Restore ${r.name} from backup ${r.backupName}: ${r.phase}`,
    `  created ${r.counts.created} · updated ${r.counts.updated} · skipped ${r.counts.skipped} · failed ${r.counts.failed}`,
    `  plan hash: ${r.planHash}`,
  ];
  if (r.phase === 'InProgress' && r.progress) {
    lines.push(
      `  did not finish: ${r.progress.done} of ${r.progress.total} objects done, last progress ${r.progress.updatedAt}`,
      '  if no process applies it any more, it was interrupted: `restore apply NAME --resume` applies the rest',
    );
  }
  for (const i of r.items.filter((x) => x.result === 'failed')) {
    lines.push(
      `  failed: ${i.groupResource} ${i.namespace ? `${i.namespace}/` : ''}${i.name}: ${i.message ?? ''}`,
    );
  }
  return lines.join('\n') + '\n';
}

export function restoreCommand(): Command {
  const restore = new Command('restore').description('plan and apply restores');

  const plan = addSpecOptions(
    new Command('plan')
      .description('show what a restore would do to every object, without changing anything')
      .argument('<name>', 'restore name'),
  )
    .addOption(new Option('-f, --format <format>', 'plan format').choices(['md', 'json']).default('md'))
    .option('--out <file>', 'write the plan to a file instead of stdout')
    .addHelpText(
      'after',
      `
Examples:
  lifeboat restore plan shop-restore --from-backup nightly-20261125020000 --include-namespaces shop
  lifeboat restore plan shop-copy --from-schedule nightly --namespace-mappings shop:shop-copy -f json --out plan.json`,
    );
  plan.action(
    act<[string, SpecFlags & { format: 'md' | 'json'; out?: string }]>(
      plan,
      async (ctx, _format, name, flags) => {
        const spec = await specFromFlags(flags);
        const fs = await fsRestoreOf(ctx, flags);
        const planned = await planRestore(
          { name, spec },
          {
            kube: await ctx.kube(),
            store: await ctx.store(),
            log: ctx.log,
            archiveLimits: ctx.archiveLimits,
            allowMissingChecksum: ctx.allowMissingChecksum,
            ...prioritiesOf(flags),
            ...fs,
          },
        );
        // The plan is shown all the same: reading it changes nothing.
        const warning = fillRepositoryWarning(planned.plan, {
          ...plan.optsWithGlobals<StorageFlags>(),
          hasRepository: fs.fsRestore !== undefined,
        });
        if (warning) process.stderr.write(`${warning}\n`);
        const text =
          flags.format === 'json' ? renderPlanJson(planned.plan) : renderPlanMarkdown(planned.plan);
        if (flags.out) {
          await writeFile(flags.out, text);
          process.stdout.write(`Plan ${planned.plan.hash} written to ${flags.out}\n`);
        } else {
          process.stdout.write(text);
        }
        return EXIT.ok;
      },
    ),
  );

  const apply = addSpecOptions(
    new Command('apply')
      .description('apply a restore; with --plan, only if planning now gives the same plan')
      .argument('<name>', 'restore name'),
  )
    .option('--plan <file>', 'the approved plan (JSON from `restore plan -f json`); its spec is used')
    .option('--force', 'apply even when the approved plan is stale')
    .option(
      '--resume',
      'carry on after an interrupted apply of this name (its record stayed InProgress and no process applies it any more): re-plan against the cluster and apply the rest',
    )
    .option('--replace', 'overwrite the record of an earlier restore of this name (refused by default)')
    .addHelpText(
      'after',
      `
Examples:
  lifeboat restore apply shop-restore --plan plan.json
  lifeboat restore apply shop-restore --from-backup nightly-20261125020000 --include-namespaces shop
  lifeboat restore apply shop-restore --from-backup nightly-20261125020000 --resume   # after a crash`,
    );
  apply.action(
    act<[string, SpecFlags & { plan?: string; force?: boolean; resume?: boolean; replace?: boolean }]>(
      apply,
      async (ctx, format, name, flags) => {
        if (flags.resume && flags.replace) throw new UsageError('--resume and --replace exclude each other');
        let spec: RestoreSpec;
        let approvedHash: string | undefined;
        if (flags.plan) {
          const approved = JSON.parse(await readFile(flags.plan, 'utf8')) as RestorePlan;
          if (approved.kind !== 'RestorePlan' || typeof approved.hash !== 'string') {
            throw new UsageError(`${flags.plan} is not a restore plan (kind RestorePlan with a hash)`);
          }
          if (approved.restoreName !== name) {
            throw new UsageError(`${flags.plan} is the plan of restore ${approved.restoreName}, not ${name}`);
          }
          spec = approved.spec;
          approvedHash = approved.hash;
        } else {
          spec = await specFromFlags(flags);
        }
        const fs = await fsRestoreOf(ctx, flags);
        const progress = createProgress(`restore ${name}`);
        let result: RestoreResult;
        try {
          result = await applyRestore(
            { name, spec },
            {
              kube: await ctx.kube(),
              store: await ctx.store(),
              log: ctx.log,
              archiveLimits: ctx.archiveLimits,
              allowMissingChecksum: ctx.allowMissingChecksum,
              onProgress: (d, t) => progress.update(d, t),
              ...prioritiesOf(flags),
              ...fs,
              // Without a repository, restic fills would fail after the claims and pods exist.
              ...(fs.fsRestore
                ? {}
                : {
                    checkPlan: (p: RestorePlan) =>
                      requireFillRepository(p, {
                        ...apply.optsWithGlobals<StorageFlags>(),
                        hasRepository: false,
                      }),
                  }),
            },
            {
              ...(approvedHash ? { approvedHash } : {}),
              ...(flags.force ? { force: true } : {}),
              existing: flags.resume ? 'resume' : flags.replace ? 'replace' : 'refuse',
            },
          );
        } catch (err) {
          if (err instanceof StalePlanError) {
            process.stderr.write(`error: ${err.message}\n`);
            return EXIT.stale;
          }
          throw err;
        } finally {
          progress.stop();
        }
        process.stdout.write(render(result, format, () => resultSummary(result)));
        return result.phase === 'Completed'
          ? EXIT.ok
          : result.phase === 'PartiallyFailed'
            ? EXIT.partial
            : EXIT.error;
      },
    ),
  );

  const ls = new Command('list')
    .description('list restores recorded in the storage location')
    .addHelpText('after', '\nExamples:\n  lifeboat restore list -o json');
  ls.action(
    act<[]>(ls, async (ctx, format) => {
      const rs = await listRestores(await ctx.store());
      const rows = rs.map((r) => ({
        name: r.name,
        backup: r.backupName,
        phase: r.phase,
        created: r.counts.created,
        updated: r.counts.updated,
        failed: r.counts.failed,
        started: r.startTimestamp,
      }));
      process.stdout.write(
        render(rows, format, () =>
          table(
            ['NAME', 'BACKUP', 'STATUS', 'CREATED', 'UPDATED', 'FAILED', 'STARTED'],
            rows.map((r) => [r.name, r.backup, r.phase, r.created, r.updated, r.failed, r.started]),
          ),
        ),
      );
      return EXIT.ok;
    }),
  );

  const describe = new Command('describe')
    .description('show one restore and its per-object results')
    .argument('<name>')
    .addHelpText('after', '\nExamples:\n  lifeboat restore describe shop-restore -o yaml');
  describe.action(
    act<[string]>(describe, async (ctx, format, name) => {
      const r = await getRestore(await ctx.store(), name);
      process.stdout.write(
        render(
          r,
          format,
          () =>
            resultSummary(r) +
            table(
              ['RESOURCE', 'NAMESPACE', 'NAME', 'RESULT', 'MESSAGE'],
              r.items.map((i) => [i.groupResource, i.namespace, i.name, i.result, i.message ?? '']),
            ),
        ),
      );
      return EXIT.ok;
    }),
  );

  const logs = new Command('logs')
    .description("print a restore's log")
    .argument('<name>')
    .addHelpText('after', '\nExamples:\n  lifeboat restore logs shop-restore');
  logs.action(
    act<[string]>(logs, async (ctx, _format, name) => {
      process.stdout.write(await readRestoreLog(await ctx.store(), name));
      return EXIT.ok;
    }),
  );

  for (const c of [plan, apply, ls, describe, logs]) restore.addCommand(c);
  return restore;
}
