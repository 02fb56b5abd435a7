/**
 * Host input sources for the live boundary: bytes from a stream (stdin) into
 * a serial port, and frames from the UDP network backend into a NIC. Each
 * push wakes the live loop so a halted guest sees the input at once.
 */
import type { Readable } from 'node:stream';
import { INPUT } from '../replay/boundary.js';
import type { LiveBoundary } from '../replay/live-boundary.js';

export interface Wakeable {
  wake(): void;
}

/** Anything that delivers received Ethernet frames (engine/host/net-udp.ts). */
export interface FrameSource {
  onFrame(cb: (frame: Uint8Array) => void): void;
}

/** Feeds a byte stream (e.g. process.stdin) to serial port `target`. Returns a detach function. */
export function attachSerialInput(live: LiveBoundary, loop: Wakeable, stream: Readable, target = 0): () => void {
  const onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    if (bytes.length === 0) return;
    live.push(INPUT.SERIAL, target, bytes);
    loop.wake();
  };
  stream.on('data', onData);
  return () => stream.off('data', onData);
}

/** Feeds received frames to NIC `target`; frames the boundary refuses (too large) are dropped. */
export function attachFrameInput(live: LiveBoundary, loop: Wakeable, source: FrameSource, target = 0, onDrop: (why: string) => void = () => {}): void {
  source.onFrame((frame) => {
    try {
      live.push(INPUT.NET_RX, target, frame);
      loop.wake();
    } catch (e) {
      onDrop((e as Error).message);
    }
  });
}
