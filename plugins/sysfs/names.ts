// Checks for the two kinds of names that come from pod annotations and end up in sysfs
// paths. They run before any path is built, so an annotation cannot steer a read elsewhere.

// domain:bus:device.function. Domains are 4 hex digits on almost every host; some (Intel VMD)
// use more, so up to 8 are accepted. Device is 5 bits, function 3 bits.
const PCI_ADDRESS = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/;

/** The address in the lower-case form sysfs uses, or undefined if it is not a PCI address. */
export function normalizePciAddress(s: string): string | undefined {
  const lower = s.toLowerCase();
  return PCI_ADDRESS.test(lower) ? lower : undefined;
}

/** The kernel's dev_valid_name(): 1-15 bytes, not `.`/`..`, no `/`, `:` or whitespace. */
export function isNetdevName(s: string): boolean {
  return s.length > 0 && Buffer.byteLength(s) < 16 && s !== '.' && s !== '..' && !/[/:\s]/.test(s);
}
