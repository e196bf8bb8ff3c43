// How the Git token reaches Git: in the environment of each Git process, never in
// .git/config, the remote URL or a command line (where other processes could read it).
/**
 * Git configuration given in the environment (GIT_CONFIG_COUNT, Git 2.31+), which Git reads
 * for this process only: `http.<remote>.extraHeader` with Basic credentials, scoped to the
 * remote's URL so a redirect to another host does not carry it. Empty for non-HTTP remotes.
 */
export function httpTokenEnvironment(remoteUrl: string, token: string | undefined): Record<string, string> {
  if (token === undefined || token === '' || !/^https?:\/\//.test(remoteUrl)) return {};
  const url = new URL(remoteUrl);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${url.toString()}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}
