// Where the kubelet mounts a pod's volume on its node: <kubelet root>/pods/<pod uid>/volumes/
// <plugin>/<name>, where <plugin> is the volume plugin with '/' as '~' (kubernetes.io~empty-dir,
// kubernetes.io~csi, …) and <name> is the pod's volume name, or the PersistentVolume's name for a
// claim. CSI volumes have their files one level down, in mount/ (the kubelet keeps
// vol_data.json beside it). Velero's node-agent finds volumes the same way.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Volume types read from the kubelet directory never: their data is not the pod's. */
export const HOST_PATH_PLUGIN = 'kubernetes.io~host-path';
const CSI_PLUGIN = 'kubernetes.io~csi';

/** The plugin directory (of those listed) that holds `name`, and the data path inside it. */
export function pickVolumeDir(o: {
  podDir: string;
  /** plugin directory → the names in it */
  plugins: Record<string, readonly string[]>;
  name: string;
}): string | undefined {
  const found = Object.entries(o.plugins)
    .filter(([, names]) => names.includes(o.name))
    .map(([plugin]) => plugin)
    .sort();
  const plugin = found[0];
  if (plugin === undefined) return undefined;
  const dir = join(o.podDir, 'volumes', plugin, o.name);
  return plugin === CSI_PLUGIN ? join(dir, 'mount') : dir;
}

export class VolumeNotFoundError extends Error {
  constructor(pod: string, volume: string, where: string) {
    super(`volume ${volume} of pod ${pod} is not mounted on this node (looked in ${where})`);
    this.name = 'VolumeNotFoundError';
  }
}

/** The directory holding the files of a pod's volume on this node. */
export async function podVolumeDir(o: {
  kubeletRootDir: string;
  podUid: string;
  /** For messages: namespace/name. */
  pod: string;
  volume: string;
  /** The PersistentVolume's name, when the volume is a claim. */
  persistentVolume?: string;
}): Promise<string> {
  const podDir = join(o.kubeletRootDir, 'pods', o.podUid);
  const volumesDir = join(podDir, 'volumes');
  const plugins: Record<string, string[]> = {};
  let entries: string[] = [];
  try {
    entries = await readdir(volumesDir);
  } catch {
    throw new VolumeNotFoundError(o.pod, o.volume, volumesDir);
  }
  for (const plugin of entries) {
    if (plugin === HOST_PATH_PLUGIN) continue;
    plugins[plugin] = await readdir(join(volumesDir, plugin)).catch(() => []);
  }
  const dir = pickVolumeDir({ podDir, plugins, name: o.persistentVolume ?? o.volume });
  if (!dir) throw new VolumeNotFoundError(o.pod, o.volume, volumesDir);
  return dir;
}
