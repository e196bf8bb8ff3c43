// `lifeboat agent`: the node agent of file-system volume backups (deploy/agent-daemonset.yaml
// runs it on every node). It takes the PodVolumeBackups / PodVolumeRestores of its node and
// runs restic on the pods' volumes in the kubelet's directory.
import { Command } from 'commander';
import { NodeAgent } from '../../volumes/agent.js';
import { act } from '../action.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../output.js';

interface AgentFlags {
  node?: string;
  kubeletRootDir: string;
  restic: string;
  resticCacheDir?: string;
  namespace: string;
}

export function agentCommand(): Command {
  const cmd = new Command('agent')
    .description('run the node agent: back up and restore pod volumes of this node with restic')
    .option('--node <name>', "this node's name (default: $NODE_NAME, set from the pod's spec.nodeName)")
    .option(
      '--kubelet-root-dir <dir>',
      "the kubelet's --root-dir as mounted here (pods/<uid>/volumes/ below it)",
      '/var/lib/kubelet',
    )
    .option('--restic <path>', 'the restic binary', 'restic')
    .option('--restic-cache-dir <dir>', "restic's cache (default: none, --no-cache)")
    .option(
      '--namespace <ns>',
      "the namespace of the work objects to take: lifeboat's (default: $POD_NAMESPACE, else lifeboat)",
      process.env.POD_NAMESPACE ?? 'lifeboat',
    );
  cmd.action(
    act(cmd, async (ctx, _format, flags: AgentFlags) => {
      const node = flags.node ?? process.env.NODE_NAME;
      if (!node) throw new UsageError('agent: --node or $NODE_NAME is required');
      const agent = new NodeAgent({
        kube: await ctx.kube(),
        node,
        namespace: flags.namespace,
        kubeletRootDir: flags.kubeletRootDir,
        restic: {
          binary: flags.restic,
          ...(flags.resticCacheDir ? { cacheDir: flags.resticCacheDir } : {}),
        },
        log: ctx.log,
      });
      const controller = new AbortController();
      const stop = (): void => {
        ctx.log.info('stopping after the current volume');
        controller.abort();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await agent.run(controller.signal);
      return EXIT.ok;
    }),
  );
  return cmd;
}
