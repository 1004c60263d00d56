// A NetworkAttachmentDefinition reduced to its CNI type and config.
import type { NetworkAttachment } from './attachment.js';
import type { NetworkAttachmentDefinition } from './k8s.js';

/**
 * The CNI type is the config's `type`, or the first plugin's for a conflist. A NAD whose
 * config is missing or not JSON gets type '' and so matches no adapter (upstream read the
 * config from files on the node instead; we do not).
 */
export function toNetworkAttachment(nad: NetworkAttachmentDefinition): NetworkAttachment {
  const key = `${nad.metadata.namespace}/${nad.metadata.name}`;
  let config: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(nad.spec?.config ?? '');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
  } catch {
    config = {};
  }
  const plugins = config['plugins'];
  const first = Array.isArray(plugins) && plugins[0] && typeof plugins[0] === 'object' ? (plugins[0] as Record<string, unknown>) : config;
  const cniType = typeof first['type'] === 'string' ? first['type'] : '';
  return { key, namespace: nad.metadata.namespace, name: nad.metadata.name, cniType, config: first };
}
