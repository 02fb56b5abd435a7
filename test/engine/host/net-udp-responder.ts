/**
 * A tiny network peer for tests: it sits on the UDP backend (a virtual switch
 * port on 127.0.0.1) and answers ARP requests and ICMP echo requests for one
 * IPv4 address, as a guest's `ping` needs. Frame handling is a pure function
 * (`respond`) so it can be tested without sockets.
 */
import { NetUdpBackend } from '../../../engine/host/net-udp.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;

/** The Internet checksum (RFC 1071) of `len` bytes at `off`. */
export function inetChecksum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i + 1 < len; i += 2) sum += (b[off + i]! << 8) | b[off + i + 1]!;
  if (len & 1) sum += b[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function be16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

function sameBytes(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

export interface ResponderStats {
  arpReplies: number;
  echoReplies: number;
  ignored: number;
}

/** Answers ARP and ICMP echo for `ip`, from `mac`. Returns the reply frame, or null. */
export function respond(mac: Uint8Array, ip: Uint8Array, f: Uint8Array, stats?: ResponderStats): Uint8Array | null {
  if (f.length >= 42 && be16(f, 12) === ETHERTYPE_ARP) {
    // htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request), target IP ours
    if (be16(f, 14) === 1 && be16(f, 16) === ETHERTYPE_IPV4 && f[18] === 6 && f[19] === 4 && be16(f, 20) === 1 && sameBytes(f, 38, ip, 0, 4)) {
      const r = new Uint8Array(42);
      r.set(f.subarray(22, 28), 0); // to the sender's MAC
      r.set(mac, 6);
      put16(r, 12, ETHERTYPE_ARP);
      r.set(f.subarray(14, 20), 14);
      put16(r, 20, 2); // reply
      r.set(mac, 22);
      r.set(ip, 28);
      r.set(f.subarray(22, 32), 32); // target = the requester's MAC and IP
      if (stats) stats.arpReplies++;
      return r;
    }
  } else if (f.length >= 34 && be16(f, 12) === ETHERTYPE_IPV4 && sameBytes(f, 0, mac, 0, 6)) {
    const ihl = (f[14]! & 0x0f) * 4;
    const total = be16(f, 16);
    if (f[14]! >>> 4 === 4 && ihl >= 20 && total >= ihl + 8 && 14 + total <= f.length && f[23] === 1 && sameBytes(f, 30, ip, 0, 4) && inetChecksum(f, 14, ihl) === 0) {
      const icmp = 14 + ihl;
      if (f[icmp] === 8 && f[icmp + 1] === 0 && inetChecksum(f, icmp, total - ihl) === 0) {
        const r = f.slice(0, 14 + total);
        r.set(f.subarray(6, 12), 0);
        r.set(mac, 6);
        r.set(f.subarray(30, 34), 26); // src = us
        r.set(f.subarray(26, 30), 30); // dst = the pinger
        r[22] = 64; // TTL
        put16(r, 24, 0);
        put16(r, 24, inetChecksum(r, 14, ihl));
        r[icmp] = 0; // echo reply
        put16(r, icmp + 2, 0);
        put16(r, icmp + 2, inetChecksum(r, icmp, total - ihl));
        if (stats) stats.echoReplies++;
        return r;
      }
    }
  }
  if (stats) stats.ignored++;
  return null;
}

/** The responder on its own UDP backend port. */
export class PingResponder {
  readonly backend: NetUdpBackend;
  readonly mac: Uint8Array;
  readonly ip: Uint8Array;
  readonly stats: ResponderStats = { arpReplies: 0, echoReplies: 0, ignored: 0 };
  private constructor(backend: NetUdpBackend, mac: Uint8Array, ip: Uint8Array) {
    this.backend = backend;
    this.mac = mac;
    this.ip = ip;
    backend.onFrame((f) => {
      const r = respond(this.mac, this.ip, f, this.stats);
      if (r) backend.send(r.length < 60 ? padTo60(r) : r);
    });
  }

  /** Binds `port` (0 = any) and answers whoever sends to it, or `peerPort`. */
  static async open(opts: { port?: number; peerPort?: number; mac: Uint8Array; ip: Uint8Array }): Promise<PingResponder> {
    const b = await NetUdpBackend.open({ port: opts.port ?? 0, ...(opts.peerPort !== undefined ? { peerPort: opts.peerPort } : {}) });
    return new PingResponder(b, opts.mac.slice(), opts.ip.slice());
  }

  get port(): number {
    return this.backend.port;
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

function padTo60(f: Uint8Array): Uint8Array {
  const r = new Uint8Array(60);
  r.set(f);
  return r;
}
