/** A minimal gdb-side client for server tests: sends packets, collects replies. */
import { connect, type Socket } from 'node:net';
import { PacketDecoder, encodePacket, type FrameEvent } from '../../../debugger/gdb/packets.js';

export class GdbTestClient {
  private readonly sock: Socket;
  private readonly decoder = new PacketDecoder(1 << 20);
  private readonly replies: string[] = [];
  private waiters: (() => void)[] = [];
  acks = 0;
  nacks = 0;
  noAck = false;
  closed = false;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) =>
      this.decoder.feed(d, (e: FrameEvent) => {
        if (e.type === 'ack') this.acks++;
        else if (e.type === 'nack') this.nacks++;
        else if (e.type === 'packet') {
          if (!this.noAck) sock.write('+');
          this.replies.push(e.data);
        }
        this.wake();
      }),
    );
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number): Promise<GdbTestClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new GdbTestClient(s)));
      s.setNoDelay(true);
      s.on('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  raw(data: string | Uint8Array): void {
    this.sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Next reply packet, skipping console output (O...) packets, which are collected in `console`. */
  async reply(): Promise<string> {
    for (;;) {
      while (this.replies.length > 0) {
        const r = this.replies.shift()!;
        if (r.startsWith('O') && r.length > 1 && /^O([0-9a-f]{2})+$/.test(r)) {
          this.console += Buffer.from(r.slice(1), 'hex').toString('utf8');
          continue;
        }
        return r;
      }
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  console = '';

  async req(payload: string): Promise<string> {
    this.raw(encodePacket(payload, false));
    return this.reply();
  }

  close(): void {
    this.sock.destroy();
  }

  waitClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => this.sock.on('close', () => r()));
  }
}
