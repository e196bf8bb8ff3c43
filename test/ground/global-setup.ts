// Vitest global setup for the integration project: start the real servers once, hand their
// coordinates to every worker, stop them at the end. A component that cannot start fails the
// run with its reason; nothing is skipped.
import type { TestProject } from 'vitest/node';
import { ensureDist } from '../../scripts/ensure-dist.mjs';
import { startGround, type Ground } from './ground.js';
import './vitest-context.js';

let ground: Ground | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Tests run the CLI as users do, compiled (bin/lifeboat.js loads dist/): build it when stale.
  ensureDist();
  ground = await startGround({
    // A node (containerd, kubelet, scheduler), so pods run; it needs root. A node that cannot
    // start fails the run with its reason.
    node: true,
    // Short, so the compaction (410 Gone) path is exercised against a real apiserver.
    compactionInterval: '30s',
    log: (line) => process.stderr.write(`[ground] ${line}\n`),
  });
  project.provide('ground', ground.info);
}

export async function teardown(): Promise<void> {
  await ground?.stop();
}
