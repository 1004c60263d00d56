// Netdev names go verbatim into `tc -batch` lines, so only names the kernel itself accepts
// get that far. tc's batch reader cuts a line at '#' and splits on quotes and whitespace; a
// name with such characters would change the command, not just name another device.

/** The kernel's rule (dev_valid_name: 1-15 bytes, not `.`/`..`, no '/', ':' or whitespace), plus tc's specials. */
export function isValidIfname(name: string): boolean {
  if (name.length < 1 || Buffer.byteLength(name, 'utf8') > 15) return false;
  if (name === '.' || name === '..') return false;
  return !/[\s/:#"'\\\x00-\x1f\x7f]/.test(name);
}

/** A netdev name that is not a valid Linux ifname is a bug upstream (adapters resolve real names): throw. */
export function assertIfname(name: string): string {
  if (!isValidIfname(name)) throw new Error(`not a valid Linux interface name: ${JSON.stringify(name)}`);
  return name;
}
