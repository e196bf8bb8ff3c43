// The node agent for integration tests: `lifeboat agent` (the compiled CLI, as users run it) as
// a process on this machine, beside the ground's kubelet, reading the kubelet's pod directory
// as the DaemonSet's hostPath mount does. It runs out of cluster because pods of the ground
// cannot reach the apiserver (no kube-proxy, no Service routing) — the same reason the CSI
// sidecars and Velero run out of cluster here.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GroundInfo } from './context.js';
import { startProcess, stopProcess, type Proc } from './process.js';
import { resticBinary } from './restic.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

export interface RunningAgent {
  proc: Proc;
  stop(): Promise<void>;
}

/**
 * A node agent as a host process. `namespace` is where it takes work: each test file's own,
 * because test files run side by side on one node and an agent that starts fails the work it
 * finds InProgress in its namespace (as after a crash).
 */
export function startNodeAgent(
  ground: GroundInfo,
  logDir: string,
  o: { namespace: string; name?: string },
): RunningAgent {
  if (!ground.node)
    throw new Error('the test ground has no node: global-setup must start it with node: true');
  const proc = startProcess({
    name: o.name ?? 'lifeboat-agent',
    bin: process.execPath,
    logDir,
    args: [
      join(repo, 'bin', 'lifeboat.js'),
      'agent',
      `--kubeconfig=${ground.kubeconfigPath}`,
      `--node=${ground.node.name}`,
      `--kubelet-root-dir=${ground.node.kubeletRootDir}`,
      `--restic=${resticBinary()}`,
      `--namespace=${o.namespace}`,
      '--log-level=info',
    ],
  });
  return { proc, stop: () => stopProcess(proc) };
}
