/**
 * Running Linux guests against the host network: each guest's NIC sits on a
 * UDP backend port (engine/host/net-udp.ts), frames it transmits are sent,
 * frames the backend receives are pushed into the guest's live boundary.
 *
 * The guests run in virtual time in slices; between slices the event loop
 * runs so datagrams move. After a slice in which a guest transmitted, the
 * pump waits (bounded) for a datagram to arrive anywhere before running on,
 * so a reply from the peer reaches the guest long before the guest's own
 * timeouts (ARP 1 s, ping 10 s of guest time) even though a halted guest can
 * skip far ahead in virtual time. The timeout is a guard against a peer that
 * never answers, not a measured delay: the guest's result does not depend on
 * it beyond "the reply came in time".
 */
import { NetUdpBackend } from '../../engine/host/net-udp.js';
import { PcapWriter } from '../../engine/host/pcap.js';
import type { LinuxGuest } from './linux-guest.js';

export interface NetGuest {
  guest: LinuxGuest;
  backend: NetUdpBackend;
  /** Frames transmitted since the pump last waited. */
  txSince: number;
}

let rxWaiters: (() => void)[] = [];

/** Puts `guest`'s NIC on a new UDP backend port (peer given later with connect, or learnt). */
export async function attachUdp(guest: LinuxGuest, peerPort?: number): Promise<NetGuest> {
  const backend = await NetUdpBackend.open({ port: 0, ...(peerPort !== undefined ? { peerPort } : {}) });
  const ng: NetGuest = { guest, backend, txSince: 0 };
  guest.onTx = (f) => {
    backend.send(f);
    ng.txSince++;
  };
  backend.onFrame((f) => {
    guest.receive(f);
    const w = rxWaiters;
    rxWaiters = [];
    for (const r of w) r();
  });
  return ng;
}

/** Writes every frame the guest's NIC sends or receives to a pcap file (guest time). */
export function capture(guest: LinuxGuest, path: string): PcapWriter {
  const w = PcapWriter.create(path);
  guest.pc.nic!.tap = (_dir, frame, ns) => w.write(ns, frame);
  return w;
}

function nextRx(guardMs: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, guardMs);
    rxWaiters.push(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * Runs the guests in turn, slice by slice, until `done()` or until every
 * guest has run `maxInstructions` more. Returns whether done() became true.
 */
export async function pump(guests: NetGuest[], done: () => boolean, maxInstructions: number, slice = 2_000_000): Promise<boolean> {
  const limit = guests.map((g) => g.guest.icount + maxInstructions);
  for (;;) {
    if (done()) return true;
    let ran = false;
    for (let i = 0; i < guests.length; i++) {
      const g = guests[i]!;
      if (g.guest.icount >= limit[i]!) continue;
      g.guest.step(Math.min(slice, limit[i]! - g.guest.icount));
      ran = true;
    }
    if (!ran) return done();
    if (guests.some((g) => g.txSince > 0)) {
      for (const g of guests) g.txSince = 0;
      await nextRx(250);
    } else {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}

/** Reads a classic pcap file's records (frames only). */
export function readPcap(bytes: Uint8Array): Uint8Array[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== 0xa1b2c3d4) throw new Error('not a little-endian pcap file');
  const frames: Uint8Array[] = [];
  let o = 24;
  while (o + 16 <= bytes.length) {
    const cap = v.getUint32(o + 8, true);
    frames.push(bytes.subarray(o + 16, o + 16 + cap));
    o += 16 + cap;
  }
  return frames;
}

/** ICMP echo type (8 request, 0 reply) of an IPv4 frame, or -1. */
export function icmpType(f: Uint8Array): number {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 1) return -1;
  const ihl = (f[14]! & 15) * 4;
  return f[14 + ihl] ?? -1;
}
