// The one spelling of a MAC address that drivers write and read back (`dst_mac`): six
// lower-case hex octets separated by colons, as tc prints it (`02:00:00:00:00:0a`).

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** `02:00:00:00:00:0A` → `02:00:00:00:00:0a`; undefined for anything else (a masked `…/16` included). */
export function canonicalMac(text: string): string | undefined {
  return MAC.test(text) ? text.toLowerCase() : undefined;
}
