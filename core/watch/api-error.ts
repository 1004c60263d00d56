// One line for whatever client-node throws: an ApiException (HTTP status and the Status
// message), a node-fetch FetchError (the socket-level reason), a watch Error with statusCode.
// client-node's own messages span several lines and include headers; never print those.

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

function statusMessage(body: unknown): string | undefined {
  let b = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      return body.trim().split('\n')[0]?.slice(0, 200) || undefined;
    }
  }
  return isObj(b) && typeof b.message === 'string' ? b.message : undefined;
}

const HINTS: Readonly<Record<number, string>> = {
  401: 'unauthorized: the credentials were rejected',
  403: 'forbidden: the account lacks RBAC permission (get/list/watch on pods, namespaces, network-attachment-definitions, multi-networkpolicies)',
  404: 'not found: is the MultiNetworkPolicy / NetworkAttachmentDefinition CRD installed?',
};

export function describeApiError(e: unknown): string {
  if (!isObj(e)) return String(e);
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined) {
    const msg = statusMessage(e.body);
    const hint = HINTS[status];
    return `HTTP ${status}${hint ? ` ${hint}` : ''}${msg ? ` (${msg})` : ''}`;
  }
  const message = typeof e.message === 'string' ? e.message : String(e);
  // node-fetch: "request to http://h/p failed, reason: connect ECONNREFUSED 127.0.0.1:1"
  const reason = /reason: (.*)$/s.exec(message)?.[1];
  return (reason ?? message).split('\n')[0]!.trim();
}

/** Aborted by us (stop, restart): not an error worth reporting. */
export function isAbort(e: unknown): boolean {
  return isObj(e) && (e.name === 'AbortError' || e.type === 'aborted');
}
