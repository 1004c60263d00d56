// Makes `import … from 'multi-networkpolicy-tc/plugin-api'` work in any plugin the agent
// loads, wherever the plugin lives (an npm package beside the agent, a path on a volume):
// a module resolve hook (node:module register, Node >= 20.6) answers that one specifier with
// the agent's own core/api/index module, resolved as if the agent had imported it. Every
// other specifier goes on to the default resolver (and tsx's, in a checkout).
import { register } from 'node:module';
import { PLUGIN_API_SPECIFIER } from '../api/index.js';

const HOOK = `
let target;
export async function initialize(data) { target = data; }
export async function resolve(specifier, context, next) {
  if (specifier === target.specifier) return next(target.relative, { ...context, parentURL: target.parentURL });
  return next(specifier, context);
}`;

let registered = false;

export function exposePluginApi(): void {
  if (registered) return;
  registered = true;
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, {
    data: { specifier: PLUGIN_API_SPECIFIER, relative: '../api/index.js', parentURL: import.meta.url },
  });
}
