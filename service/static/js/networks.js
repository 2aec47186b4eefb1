// IPv4 and IPv6 addresses and networks, read the way the server reads them (Python's
// `ipaddress`, service/domain/scope.py), so that the Restrict dialog can tell before saving
// whether the address a key was last used from would fall outside the networks typed. The
// server enforces the scope; this only warns, so a text the server would refuse is simply not a
// network here. Numbers are BigInts: an IPv6 address is 128 bits.

const BITS = { 4: 32n, 6: 128n };
const DECIMAL = /^[0-9]+$/;
const HEX = /^[0-9a-fA-F]{1,4}$/;

/** An IPv4 address as a number: four decimal octets without leading zeros (Python refuses
 * them: `010` could be read as octal), or null. */
function ipv4(text) {
  const octets = text.split('.');
  if (octets.length !== 4) return null;
  let value = 0n;
  for (const octet of octets) {
    if (!DECIMAL.test(octet) || octet.length > 3 || (octet.length > 1 && octet[0] === '0')) return null;
    const number = Number(octet);
    if (number > 255) return null;
    value = (value << 8n) | BigInt(number);
  }
  return value;
}

/** An IPv6 address as a number (`::` once at most, an IPv4 address in the last 32 bits
 * allowed, no zone), or null. Follows `IPv6Address._ip_int_from_string`. */
function ipv6(text) {
  const parts = text.split(':');
  if (parts.length < 3) return null;
  if (parts[parts.length - 1].includes('.')) {
    const embedded = ipv4(parts.pop());
    if (embedded === null) return null;
    parts.push((embedded >> 16n).toString(16), (embedded & 0xffffn).toString(16));
  }
  if (parts.length > 9) return null;
  const inner = parts.slice(1, -1);
  const gaps = inner.filter((part) => part === '').length;
  if (gaps > 1) return null;
  let hextets;
  if (gaps === 1) {
    const at = inner.indexOf('') + 1;
    let head = parts.slice(0, at);
    let tail = parts.slice(at + 1);
    // A leading or trailing "::" leaves an empty part at that end too.
    if (head.length > 0 && head[0] === '') {
      if (head.length !== 1) return null;
      head = [];
    }
    if (tail.length > 0 && tail[tail.length - 1] === '') {
      if (tail.length !== 1) return null;
      tail = [];
    }
    const skipped = 8 - head.length - tail.length;
    if (skipped < 1) return null;
    hextets = [...head, ...Array(skipped).fill('0'), ...tail];
  } else {
    if (parts.length !== 8) return null;
    hextets = parts;
  }
  let value = 0n;
  for (const hextet of hextets) {
    if (!HEX.test(hextet)) return null;
    value = (value << 16n) | BigInt(`0x${hextet}`);
  }
  return value;
}

/** `{ version, value }` for an IP address (an IPv4 one first, as `ip_address` tries), or null. */
function parseIp(text) {
  const v4 = ipv4(text);
  if (v4 !== null) return { version: 4, value: v4 };
  const v6 = ipv6(text);
  return v6 === null ? null : { version: 6, value: v6 };
}

/** The prefix length a mask gives, or null: `24`, and for IPv4 also a netmask (`255.255.255.0`)
 * or a host mask (`0.0.0.255`), as `ip_network` takes them. */
function prefixOf(mask, version) {
  const bits = BITS[version];
  if (DECIMAL.test(mask)) {
    const prefix = BigInt(mask);
    return prefix <= bits ? prefix : null;
  }
  if (version !== 4) return null;
  const value = ipv4(mask);
  if (value === null) return null;
  const masks = [];
  for (let prefix = 0n; prefix <= bits; prefix += 1n) {
    const hostmask = (1n << (bits - prefix)) - 1n;
    masks.push({ prefix, netmask: ((1n << bits) - 1n) ^ hostmask, hostmask });
  }
  // A netmask first: 255.255.255.255 is a /32, not the host mask of a /0.
  const found =
    masks.find((mask) => mask.netmask === value) ?? masks.find((mask) => mask.hostmask === value);
  return found ? found.prefix : null;
}

/**
 * A network as the API takes one (`203.0.113.7`, `198.51.100.0/24`, `2001:db8::/32`, spaces
 * around it ignored): `{ version, value, prefix }`, or null for anything the server refuses,
 * a network with host bits set included (it is not widened in silence).
 */
export function parseNetwork(text) {
  const entry = String(text).trim();
  if (entry.includes('%')) return null; // a zone names no network
  const pieces = entry.split('/');
  if (pieces.length > 2) return null;
  const ip = parseIp(pieces[0]);
  if (ip === null) return null;
  const prefix = pieces.length === 2 ? prefixOf(pieces[1], ip.version) : BITS[ip.version];
  if (prefix === null) return null;
  const hostmask = (1n << (BITS[ip.version] - prefix)) - 1n;
  if ((ip.value & hostmask) !== 0n) return null;
  return { version: ip.version, value: ip.value, prefix };
}

/**
 * Whether a client address (as the API reports it: canonical, maybe with a zone) lies inside
 * one of `networks` (parsed by `parseNetwork`). As on the server, an IPv4 address mapped into
 * IPv6 (`::ffff:203.0.113.7`) counts as the IPv4 address it carries, and a zone is ignored.
 */
export function within(address, networks) {
  const ip = clientIp(address);
  if (ip === null) return false;
  return networks.some((network) => {
    if (network.version !== ip.version) return false;
    const hostBits = BITS[network.version] - network.prefix;
    return ip.value >> hostBits === network.value >> hostBits;
  });
}

/**
 * The address to allow for a client address the API reported: without its zone, and an IPv4
 * address mapped into IPv6 as the IPv4 address (which is what the server matches it as); null
 * when it is not an address.
 */
export function allowedEntryFor(address) {
  const ip = clientIp(address);
  if (ip === null) return null;
  if (ip.version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  return String(address).split('%')[0];
}

/** A client address as the server matches it: its zone ignored, an IPv4 address mapped into
 * IPv6 taken as the IPv4 address it carries; null when it is not an address. */
function clientIp(address) {
  if (!address) return null;
  const ip = parseIp(String(address).split('%')[0]);
  if (ip !== null && ip.version === 6 && ip.value >> 32n === 0xffffn) {
    return { version: 4, value: ip.value & 0xffffffffn };
  }
  return ip;
}
