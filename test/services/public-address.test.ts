/**
 * Which addresses a webhook may be POSTed to (docs/ARCHITECTURE.md, "Webhooks"): every
 * non-public range, at its first and last address and at its neighbours on both sides, in IPv4,
 * IPv6, IPv4-mapped and NAT64 forms; and which URL hosts are refused without a look-up.
 */
import { describe, expect, it } from "vitest";
import { nonPublicHost, nonPublicKind } from "../../server/services/public-address.js";

const F = "ffff:ffff:ffff:ffff:ffff:ffff";

/**
 * A range: its name, the address just below it, its first, its last, the address just above it,
 * and the kinds of the range, of the one below and of the one above; `-`: no such address (the
 * ends of the address space), `PUBLIC`: a public address.
 */
type Row = [string, string, string, string, string, string | null, string | null, string | null];
const PUBLIC = null;

const IPV4: Row[] = [
  ["0.0.0.0/8", "-", "0.0.0.0", "0.255.255.255", "1.0.0.0", "unspecified", null, PUBLIC],
  ["10.0.0.0/8", "9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0", "private", PUBLIC, PUBLIC],
  ["100.64.0.0/10", "100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0", "carrier-grade NAT", PUBLIC, PUBLIC],
  ["127.0.0.0/8", "126.255.255.255", "127.0.0.0", "127.255.255.255", "128.0.0.0", "loopback", PUBLIC, PUBLIC],
  ["169.254.0.0/16", "169.253.255.255", "169.254.0.0", "169.254.255.255", "169.255.0.0", "link-local", PUBLIC, PUBLIC],
  ["172.16.0.0/12", "172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0", "private", PUBLIC, PUBLIC],
  ["192.0.0.0/24", "191.255.255.255", "192.0.0.0", "192.0.0.255", "192.0.1.0", "reserved", PUBLIC, PUBLIC],
  ["192.0.2.0/24", "192.0.1.255", "192.0.2.0", "192.0.2.255", "192.0.3.0", "reserved for documentation", PUBLIC, PUBLIC],
  ["192.88.99.0/24", "192.88.98.255", "192.88.99.0", "192.88.99.255", "192.88.100.0", "reserved", PUBLIC, PUBLIC],
  ["192.168.0.0/16", "192.167.255.255", "192.168.0.0", "192.168.255.255", "192.169.0.0", "private", PUBLIC, PUBLIC],
  ["198.18.0.0/15", "198.17.255.255", "198.18.0.0", "198.19.255.255", "198.20.0.0", "reserved for benchmarking", PUBLIC, PUBLIC],
  ["198.51.100.0/24", "198.51.99.255", "198.51.100.0", "198.51.100.255", "198.51.101.0", "reserved for documentation", PUBLIC, PUBLIC],
  ["203.0.113.0/24", "203.0.112.255", "203.0.113.0", "203.0.113.255", "203.0.114.0", "reserved for documentation", PUBLIC, PUBLIC],
  ["224.0.0.0/4", "223.255.255.255", "224.0.0.0", "239.255.255.255", "240.0.0.0", "multicast", PUBLIC, "reserved"],
  ["240.0.0.0/4", "239.255.255.255", "240.0.0.0", "255.255.255.255", "-", "reserved", "multicast", null],
];

// Outside 2000::/3 (global unicast) every IPv6 address is reserved, so below and above the ranges there
// the neighbour is "reserved", not public.
const IPV6: Row[] = [
  ["::/128", "-", "::", "::", "::1", "unspecified", null, "loopback"],
  ["::1/128", "::", "::1", "::1", "::2", "loopback", "unspecified", "reserved"],
  ["fc00::/7", `fbff:${F}:ffff`, "fc00::", `fdff:${F}:ffff`, "fe00::", "private", "reserved", "reserved"],
  ["fe80::/10", `fe7f:${F}:ffff`, "fe80::", `febf:${F}:ffff`, "fec0::", "link-local", "reserved", "private"],
  ["fec0::/10 (site-local)", `febf:${F}:ffff`, "fec0::", `feff:${F}:ffff`, "ff00::", "private", "link-local", "multicast"],
  ["ff00::/8", `feff:${F}:ffff`, "ff00::", `ffff:${F}:ffff`, "-", "multicast", "private", null],
  ["2000::/3 (global unicast)", `1fff:${F}:ffff`, "2000::", `3fff:${F}:ffff`, "4000::", PUBLIC, "reserved", "reserved"],
  ["2001::/32 (Teredo)", `2000:${F}:ffff`, "2001::", `2001:0:${F}`, "2001:1::", "reserved", PUBLIC, PUBLIC],
  ["2001:2::/48", `2001:1:${F}`, "2001:2::", "2001:2:0:ffff:ffff:ffff:ffff:ffff", "2001:2:1::", "reserved for benchmarking", PUBLIC, PUBLIC],
  ["2001:10::/28 (ORCHID)", `2001:f:${F}`, "2001:10::", `2001:1f:${F}`, "2001:20::", "reserved", PUBLIC, "reserved"],
  ["2001:20::/28 (ORCHIDv2)", `2001:1f:${F}`, "2001:20::", `2001:2f:${F}`, "2001:30::", "reserved", "reserved", PUBLIC],
  ["2001:db8::/32", `2001:db7:${F}`, "2001:db8::", `2001:db8:${F}`, "2001:db9::", "reserved for documentation", PUBLIC, PUBLIC],
  ["2002::/16 (6to4)", `2001:ffff:${F}`, "2002::", `2002:ffff:${F}`, "2003::", "reserved", PUBLIC, PUBLIC],
  ["3fff::/20", `3ffe:ffff:${F}`, "3fff::", `3fff:fff:${F}`, "3fff:1000::", "reserved for documentation", PUBLIC, PUBLIC],
];

describe("nonPublicKind", () => {
  for (const [family, table] of [
    ["IPv4", IPV4],
    ["IPv6", IPV6],
  ] as const) {
    describe(family, () => {
      it.each(table)("%s: %s | %s … %s | %s", (_range, below, first, last, above, kind, kindBelow, kindAbove) => {
        expect(nonPublicKind(first), first).toBe(kind ?? undefined);
        expect(nonPublicKind(last), last).toBe(kind ?? undefined);
        if (below !== "-") expect(nonPublicKind(below), below).toBe(kindBelow ?? undefined);
        if (above !== "-") expect(nonPublicKind(above), above).toBe(kindAbove ?? undefined);
      });
    });
  }

  it("calls the cloud metadata address link-local, and public addresses public", () => {
    expect(nonPublicKind("169.254.169.254")).toBe("link-local");
    for (const address of ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:82a::200e"]) {
      expect(nonPublicKind(address), address).toBeUndefined();
    }
  });

  it("judges an IPv4-mapped IPv6 address by its IPv4 address, in any form, and the mapped range's neighbours as reserved", () => {
    const cases: [string, string | undefined][] = [
      ["::ffff:127.0.0.1", "loopback"],
      ["::ffff:7f00:1", "loopback"],
      ["0:0:0:0:0:ffff:7f00:0001", "loopback"],
      ["::FFFF:A9FE:A9FE", "link-local"],
      ["::ffff:169.254.169.254", "link-local"],
      ["::ffff:10.1.2.3", "private"],
      ["::ffff:0.0.0.0", "unspecified"],
      ["::ffff:255.255.255.255", "reserved"],
      ["::ffff:8.8.8.8", undefined],
      ["::ffff:93.184.216.34", undefined],
      // Just outside ::ffff:0:0/96: not mapped, and outside global unicast.
      ["::fffe:ffff:ffff", "reserved"],
      ["::1:0:0:0", "reserved"],
      // IPv4-compatible (deprecated), not mapped.
      ["::127.0.0.1", "reserved"],
      ["::8.8.8.8", "reserved"],
    ];
    for (const [address, kind] of cases) expect(nonPublicKind(address), address).toBe(kind);
  });

  it("judges a NAT64 address (64:ff9b::/96) by its IPv4 address; the rest of 64:ff9b::/16 is reserved", () => {
    const cases: [string, string | undefined][] = [
      ["64:ff9b::8.8.8.8", undefined],
      ["64:ff9b::808:808", undefined],
      ["64:ff9b::127.0.0.1", "loopback"],
      ["64:ff9b::a9fe:a9fe", "link-local"],
      ["64:ff9b::a00:1", "private"],
      ["64:ff9b::", "unspecified"],
      ["64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"],
      ["64:ff9b::1:0:0", "reserved"],
      ["64:ff9b:1::808:808", "reserved"],
    ];
    for (const [address, kind] of cases) expect(nonPublicKind(address), address).toBe(kind);
  });

  it("ignores a zone, and throws for what is not an IP address", () => {
    expect(nonPublicKind("fe80::1%eth0")).toBe("link-local");
    for (const text of ["localhost", "", "1.2.3", "[::1]", "127.0.0.1:80", "::ffff:1.2.3"]) {
      expect(() => nonPublicKind(text), text).toThrow(TypeError);
    }
  });
});

describe("nonPublicHost", () => {
  it("names localhost and *.localhost loopback, with a final dot or in capitals", () => {
    for (const host of ["localhost", "LOCALHOST", "localhost.", "api.localhost", "a.b.localhost."]) {
      expect(nonPublicHost(host), host).toBe(`${host} is loopback`);
    }
  });

  it("says which IP literals are not public, IPv6 without its brackets", () => {
    expect(nonPublicHost("127.0.0.1")).toBe("127.0.0.1 is loopback");
    expect(nonPublicHost("[::1]")).toBe("::1 is loopback");
    expect(nonPublicHost("169.254.169.254")).toBe("169.254.169.254 is link-local");
    expect(nonPublicHost("[::ffff:a00:102]")).toBe("::ffff:a00:102 is private");
    expect(nonPublicHost("[fd12:3456::1]")).toBe("fd12:3456::1 is private");
  });

  it("accepts public literals and any other name, which it does not resolve", () => {
    for (const host of ["93.184.216.34", "[2606:4700:4700::1111]", "hooks.example.com", "localhost.example.com", "mylocalhost", "localhostx"]) {
      expect(nonPublicHost(host), host).toBeUndefined();
    }
  });
});
