/**
 * Whether an IP address is public: where a webhook may be POSTed (docs/ARCHITECTURE.md,
 * "Webhooks"). A webhook URL is typed by an ADMIN, but the request is made from inside the
 * network the server runs in; without this check it could reach the loopback interface, the
 * private network, or the cloud's metadata service (169.254.169.254) and its credentials.
 * Pure: no DNS, no I/O. The ranges are IANA's special-purpose registries (IPv4 and IPv6), checked
 * with node's `net.BlockList`.
 */
import { BlockList, isIP } from "node:net";

/** What a non-public address is, as a message says it: "127.0.0.1 is loopback". */
export type AddressKind =
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "carrier-grade NAT"
  | "multicast"
  | "reserved"
  | "reserved for documentation"
  | "reserved for benchmarking";

/**
 * The non-public ranges, by kind, each as CIDR. IPv4-mapped (`::ffff:0:0/96`) and NAT64
 * (`64:ff9b::/96`) IPv6 addresses are judged by the IPv4 address they carry, before this list
 * (no IPv6 range here may cover them: a BlockList matches an IPv4 address against IPv6 rules
 * through its mapped form). Every other IPv6 address outside global unicast (2000::/3) is
 * "reserved", so the IPv6 rows below only name what a message should call otherwise.
 */
const RANGES: Record<AddressKind, readonly string[]> = {
  unspecified: ["0.0.0.0/8", "::/128"],
  loopback: ["127.0.0.0/8", "::1/128"],
  // fec0::/10 is the deprecated site-local range: private in all but name.
  private: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10"],
  // 169.254.169.254 is the metadata service of most clouds.
  "link-local": ["169.254.0.0/16", "fe80::/10"],
  "carrier-grade NAT": ["100.64.0.0/10"],
  multicast: ["224.0.0.0/4", "ff00::/8"],
  reserved: [
    // IETF protocol assignments, 6to4 relay anycast, future use and broadcast (240.0.0.0/4).
    "192.0.0.0/24",
    "192.88.99.0/24",
    "240.0.0.0/4",
    // Teredo and 6to4 tunnels (they carry an IPv4 address, possibly a private one), ORCHID identifiers.
    "2001::/32",
    "2001:10::/28",
    "2001:20::/28",
    "2002::/16",
  ],
  "reserved for documentation": ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"],
  "reserved for benchmarking": ["198.18.0.0/15", "2001:2::/48"],
};

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split("/");
    list.addSubnet(network, Number(prefix), isIP(network) === 4 ? "ipv4" : "ipv6");
  }
  return list;
}

const KINDS = (Object.entries(RANGES) as [AddressKind, readonly string[]][]).map(([kind, cidrs]) => ({ kind, list: blockList(cidrs) }));
const GLOBAL_UNICAST = blockList(["2000::/3"]);
/** IPv6 ranges whose last 32 bits are an IPv4 address: IPv4-mapped, and NAT64's well-known prefix. */
const CARRIES_IPV4 = blockList(["::ffff:0:0/96", "64:ff9b::/96"]);

/**
 * The eight 16-bit words of an IPv6 address in any text form (a dotted IPv4 tail included): the
 * URL parser writes it in its canonical form first, hex words with at most one `::`.
 */
function ipv6Words(address: string): number[] {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head, tail] = canonical.split("::");
  const words = (part: string | undefined) => (part ? part.split(":").map((word) => parseInt(word, 16)) : []);
  if (tail === undefined) return words(head);
  const [before, after] = [words(head), words(tail)];
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/**
 * What kind of non-public address `address` (an IPv4 or IPv6 address, as `dns.lookup` answers or
 * a URL holds it, without brackets) is; undefined for a public one. IPv4-mapped and NAT64 IPv6
 * addresses are judged by the IPv4 address inside (`::ffff:127.0.0.1` is loopback); a zone
 * (`fe80::1%eth0`) is ignored. Throws a TypeError for what is not an IP address.
 */
export function nonPublicKind(address: string): AddressKind | undefined {
  const bare = address.split("%")[0];
  const family = isIP(bare);
  if (family === 0) throw new TypeError(`not an IP address: ${address}`);
  if (family === 6 && CARRIES_IPV4.check(bare, "ipv6")) {
    const [high, low] = ipv6Words(bare).slice(6);
    return nonPublicKind([high >> 8, high & 0xff, low >> 8, low & 0xff].join("."));
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  const found = KINDS.find(({ list }) => list.check(bare, type));
  if (found) return found.kind;
  if (family === 6 && !GLOBAL_UNICAST.check(bare, "ipv6")) return "reserved";
  return undefined;
}

/**
 * Why the host of a URL (`URL.hostname`: IPv6 in brackets, lower case) is not a public address
 * without looking anything up, e.g. "127.0.0.1 is loopback"; undefined when it is a public IP
 * address or a name. `localhost` and `*.localhost` are loopback by definition (RFC 6761), a
 * final dot or not. Other names are not resolved: what they resolve to may change, so it is
 * checked again at each connection.
 */
export function nonPublicHost(hostname: string): string | undefined {
  const host = bareHost(hostname);
  if (isIP(host) === 0) {
    const name = host.toLowerCase().replace(/\.$/, "");
    return name === "localhost" || name.endsWith(".localhost") ? `${hostname} is loopback` : undefined;
  }
  const kind = nonPublicKind(host);
  return kind && `${host} is ${kind}`;
}

/** A URL's `hostname` without the brackets of an IPv6 literal: what `isIP` and `dns.lookup` take. */
export function bareHost(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}
