/**
 * The host network backend: Ethernet frames carried one per UDP datagram on
 * 127.0.0.1, so two rewind machines (or a machine and a test harness) form a
 * virtual switch. `--nic udp:PORT[:PEER_PORT]` binds PORT and sends every
 * transmitted frame to PEER_PORT. Without a peer port the backend learns its
 * peer: it replies to the port the most recent datagram came from (a harness
 * can then just send to PORT).
 *
 * Only ever binds and sends on 127.0.0.1. A datagram is one whole Ethernet
 * frame without FCS, 14 to 1518 bytes (1500 bytes of payload plus a VLAN
 * tag); anything else is dropped with a rate-limited log line. Frames do not
 * enter the machine here: the live boundary queues what onFrame delivers as
 * NET_RX inputs, so they reach the guest at instruction boundaries and are
 * journalled when recording.
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { RewindError, ERR, argError } from '../errors.js';
import { LOG, RateLimitedLog, nullLogger, type Logger } from '../log.js';

export const NET_UDP_HOST = '127.0.0.1';
export const NET_UDP_MIN_FRAME = 14;
export const NET_UDP_MAX_FRAME = 1518;

export interface NetUdpOptions {
  /** Port to bind on 127.0.0.1 (0 = any free port; see `port` after open). */
  port: number;
  /** Port on 127.0.0.1 to send frames to; omitted = reply to the latest sender. */
  peerPort?: number;
  logger?: Logger;
}

/** Parses the CLI form `udp:PORT[:PEER_PORT]`. */
export function parseNicSpec(spec: string): { port: number; peerPort?: number } {
  const m = /^udp:(\d{1,5})(?::(\d{1,5}))?$/.exec(spec);
  if (!m) throw argError(`--nic must look like udp:PORT or udp:PORT:PEER_PORT, got ${JSON.stringify(spec)}`);
  const port = Number(m[1]);
  if (port < 1 || port > 65535) throw argError(`--nic port must be in 1-65535, got ${port}`);
  if (m[2] === undefined) return { port };
  const peerPort = Number(m[2]);
  if (peerPort < 1 || peerPort > 65535) throw argError(`--nic peer port must be in 1-65535, got ${peerPort}`);
  if (peerPort === port) throw argError(`--nic peer port must differ from the bound port (${port})`);
  return { port, peerPort };
}

function checkPort(what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) {
    throw argError(`${what} must be an integer in [${min}, 65535], got ${String(v)}`);
  }
  return v;
}

export class NetUdpBackend {
  private readonly socket: Socket;
  private readonly log: RateLimitedLog;
  private handler: ((frame: Uint8Array) => void) | null = null;
  private peer: number;
  /** True when no peer port was configured: the peer is whoever sent last. */
  private learning: boolean;
  private closed = false;
  readonly port: number;
  /** Counters for the summary line. */
  readonly stats = { rxFrames: 0, txFrames: 0, rxDropped: 0, txDropped: 0 };

  private constructor(socket: Socket, port: number, peerPort: number, log: RateLimitedLog) {
    this.socket = socket;
    this.port = port;
    this.peer = peerPort;
    this.learning = peerPort === 0;
    this.log = log;
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onMessage(msg, rinfo));
    socket.on('error', (e: Error) => this.log.log(LOG.WARN, 'net-udp', 'socket-error', `UDP socket error: ${e.message}`));
  }

  /** Binds 127.0.0.1:port. Rejects with a RewindError if the port is taken. */
  static open(opts: NetUdpOptions): Promise<NetUdpBackend> {
    const port = checkPort('UDP port', opts.port, 0);
    const peerPort = opts.peerPort === undefined ? 0 : checkPort('UDP peer port', opts.peerPort, 1);
    const log = new RateLimitedLog(opts.logger ?? nullLogger);
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        socket.close();
        reject(new RewindError(ERR.CONFIG, `cannot bind UDP ${NET_UDP_HOST}:${port} for the network backend: ${e.message}`));
      };
      socket.once('error', onError);
      socket.bind(port, NET_UDP_HOST, () => {
        socket.off('error', onError);
        resolve(new NetUdpBackend(socket, socket.address().port, peerPort, log));
      });
    });
  }

  /** The port frames are sent to (0 while no peer is known). */
  get peerPort(): number {
    return this.peer;
  }

  /** Sets (or changes) the peer port. */
  connect(peerPort: number): void {
    this.peer = checkPort('UDP peer port', peerPort, 1);
    this.learning = false;
  }

  /** Registers the receiver of incoming frames (one; a later call replaces it). */
  onFrame(cb: (frame: Uint8Array) => void): void {
    this.handler = cb;
  }

  /** Sends one frame to the peer. Returns false (and logs, rate-limited) if it was dropped. */
  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    if (!(frame instanceof Uint8Array) || frame.length < NET_UDP_MIN_FRAME || frame.length > NET_UDP_MAX_FRAME) {
      this.stats.txDropped++;
      const n = frame instanceof Uint8Array ? frame.length : -1;
      this.log.log(LOG.WARN, 'net-udp', 'tx-size', `transmitted frame of ${n} bytes not sent (frames are ${NET_UDP_MIN_FRAME}-${NET_UDP_MAX_FRAME} bytes)`);
      return false;
    }
    if (this.peer === 0) {
      this.stats.txDropped++;
      this.log.log(LOG.DEBUG, 'net-udp', 'no-peer', 'transmitted frame dropped: no peer port configured or learnt yet');
      return false;
    }
    this.stats.txFrames++;
    this.socket.send(frame, this.peer, NET_UDP_HOST);
    return true;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (rinfo.address !== NET_UDP_HOST) {
      this.stats.rxDropped++;
      this.log.log(LOG.WARN, 'net-udp', 'rx-src', `datagram from ${rinfo.address} ignored (only ${NET_UDP_HOST} is accepted)`);
      return;
    }
    if (msg.length < NET_UDP_MIN_FRAME || msg.length > NET_UDP_MAX_FRAME) {
      this.stats.rxDropped++;
      this.log.log(LOG.WARN, 'net-udp', 'rx-size', `datagram of ${msg.length} bytes from port ${rinfo.port} dropped (frames are ${NET_UDP_MIN_FRAME}-${NET_UDP_MAX_FRAME} bytes)`);
      return;
    }
    if (this.learning) this.peer = rinfo.port;
    if (this.handler === null) {
      this.stats.rxDropped++;
      return;
    }
    this.stats.rxFrames++;
    // A copy the receiver may keep: the Buffer may be pooled.
    this.handler(new Uint8Array(msg));
  }

  /** Closes the socket; later sends are dropped. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
