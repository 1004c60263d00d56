// A kubeconfig file's text for the fake API server, with a bearer token.
export function kubeconfigYaml(url: string, token = 'T0KEN'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: fake, cluster: {server: "' + url + '"}}]',
    'users: [{name: u, user: {token: ' + token + '}}]',
    'contexts: [{name: c, context: {cluster: fake, user: u}}]',
    'current-context: c',
  ].join('\n');
}
