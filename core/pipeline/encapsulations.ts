// Which frame encapsulations an attachment's program polices. Untagged always. 802.1Q
// when its network trunks VLANs to the pod (accelerated-bridge `trunk`): only then can the
// pod's tagged frames cross the bridge, so only then do they need the same rules (each
// encapsulation repeats every address and port filter). QinQ only when asked for. On an
// isolated hook, frames of an encapsulation that is not policed are dropped.
import type { NetworkAttachment } from '../model/attachment.js';
import type { Encapsulation } from './compile.js';

export type EncapsulationSetting = 'auto' | readonly Encapsulation[];

export function trunksVlans(net: NetworkAttachment | undefined): boolean {
  const trunk = net?.config['trunk'];
  return Array.isArray(trunk) && trunk.length > 0;
}

export function encapsulationsFor(setting: EncapsulationSetting, networks: readonly (NetworkAttachment | undefined)[]): Encapsulation[] {
  if (setting !== 'auto') return [...setting];
  return networks.some(trunksVlans) ? ['untagged', '802.1Q'] : ['untagged'];
}
