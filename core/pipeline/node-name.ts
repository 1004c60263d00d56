// Is a pod's spec.nodeName this node? Case-insensitive (upstream lowercased only its own
// name, bug 25). A short name also equals an FQDN that starts with it, since kubelets
// register either form; two different FQDNs that only share a first label do not.
export function sameNode(nodeName: string, self: string): boolean {
  const a = nodeName.trim().toLowerCase();
  const b = self.trim().toLowerCase();
  if (a === '' || b === '') return false;
  if (a === b) return true;
  const shortA = a.split('.')[0];
  const shortB = b.split('.')[0];
  return (a === shortA || b === shortB) && shortA === shortB;
}
