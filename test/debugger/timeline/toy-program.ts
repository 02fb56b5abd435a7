/**
 * The program the session tests run on the toy machine, assembled by hand
 * (the encodings are standard IA-32; comments give the nasm source).
 */
import { ToyMachine, type ToyOptions } from './toy-machine.js';

class Asm {
  readonly bytes: number[] = [];
  readonly labels = new Map<string, number>();
  private readonly fixups: { at: number; label: string; rel: boolean; size: number }[] = [];
  readonly base: number;
  constructor(base: number) {
    this.base = base;
  }
  get here(): number {
    return this.base + this.bytes.length;
  }
  label(name: string): this {
    this.labels.set(name, this.here);
    return this;
  }
  b(...v: number[]): this {
    this.bytes.push(...v.map((x) => x & 0xff));
    return this;
  }
  d(v: number): this {
    return this.b(v, v >>> 8, v >>> 16, v >>> 24);
  }
  rel32(label: string): this {
    this.fixups.push({ at: this.bytes.length, label, rel: true, size: 4 });
    return this.d(0);
  }
  rel8(label: string): this {
    this.fixups.push({ at: this.bytes.length, label, rel: true, size: 1 });
    return this.b(0);
  }
  resolve(): number[] {
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`no label ${f.label}`);
      const rel = target - (this.base + f.at + f.size);
      if (f.size === 4) {
        this.bytes[f.at] = rel & 0xff;
        this.bytes[f.at + 1] = (rel >>> 8) & 0xff;
        this.bytes[f.at + 2] = (rel >>> 16) & 0xff;
        this.bytes[f.at + 3] = (rel >>> 24) & 0xff;
      } else {
        if (rel < -128 || rel > 127) throw new Error(`rel8 to ${f.label} out of range`);
        this.bytes[f.at] = rel & 0xff;
      }
    }
    return this.bytes;
  }
}

export const CODE = 0x1000;
export const COUNTER = 0x8000;
export const FUNC_OUT = 0x8004;
export const TICKS = 0x8010;
export const SOFT_OUT = 0x8020;
export const FILL = 0x9000;

export interface ToyProgram {
  machine: ToyMachine;
  labels: Map<string, number>;
  at(label: string): number;
}

/**
 * start:  sti ; xor-free: mov ecx,0
 * loop:   call func ; inc ecx ; mov [COUNTER],ecx ; cmp ecx,LOOPS ; jnz loop
 *         int 0x30 ; ud2 ; mov edi,FILL ; mov ecx,8 ; mov eax,0x41414141 ; rep stosd
 *         mov eax,'H' ; out 0xe9,al ; mov eax,'i' ; out 0xe9,al ; mov eax,0x80000011 ; mov cr0,eax
 *         hlt ; out 0xf4,al
 * func:   push ebx ; mov ebx,[COUNTER] ; add ebx,1 ; mov [FUNC_OUT],ebx ; call leaf ; pop ebx ; ret
 * leaf:   nop ; ret
 * timer:  push eax ; mov eax,[TICKS] ; inc eax ; mov [TICKS],eax ; pop eax ; iret
 * ud:     add dword [esp],2 ; iret
 * soft:   mov [SOFT_OUT],eax ; iret
 */
export function buildToyProgram(opts: ToyOptions & { loops?: number } = {}): ToyProgram {
  const loops = opts.loops ?? 50;
  const a = new Asm(CODE);
  a.label('start').b(0xfb).b(0xb9).d(0);
  a.label('loop').b(0xe8).rel32('func');
  a.label('after_call').b(0x41);
  a.label('store').b(0x89, 0x0d).d(COUNTER);
  a.b(0x83, 0xf9, loops);
  a.b(0x75).rel8('loop');
  a.label('int30').b(0xcd, 0x30);
  a.label('ud2').b(0x0f, 0x0b);
  a.label('fill').b(0xbf).d(FILL).b(0xb9).d(8).b(0xb8).d(0x41414141);
  a.label('rep').b(0xf3, 0xab);
  a.label('after_rep').b(0xb8).d(0x48).label('out1').b(0xe6, 0xe9).b(0xb8).d(0x69).label('out2').b(0xe6, 0xe9);
  a.b(0xb8).d(0x80000011).label('movcr0').b(0x0f, 0x22, 0xc0);
  a.label('hlt').b(0xf4);
  a.label('exit').b(0xe6, 0xf4);
  a.label('func').b(0x53).b(0x8b, 0x1d).d(COUNTER).b(0x83, 0xc3, 0x01).label('func_store').b(0x89, 0x1d).d(FUNC_OUT);
  a.label('call_leaf').b(0xe8).rel32('leaf');
  a.label('after_leaf').b(0x5b).label('func_ret').b(0xc3);
  a.label('leaf').b(0x90).label('leaf_ret').b(0xc3);
  a.label('timer').b(0x50).b(0x8b, 0x05).d(TICKS).b(0x40).label('timer_store').b(0x89, 0x05).d(TICKS).b(0x58).b(0xcf);
  a.label('ud').b(0x83, 0x04, 0x24, 0x02).b(0xcf);
  a.label('soft').b(0x89, 0x05).d(SOFT_OUT).b(0xcf);
  const code = a.resolve();
  const m = new ToyMachine({ timerPeriod: 97, checkpointInterval: 256, ...opts });
  // Vector table at 0.
  const ivt = (v: number, label: string): void => {
    const x = a.labels.get(label)!;
    m.mem[v * 4] = x & 0xff;
    m.mem[v * 4 + 1] = (x >>> 8) & 0xff;
    m.mem[v * 4 + 2] = (x >>> 16) & 0xff;
    m.mem[v * 4 + 3] = (x >>> 24) & 0xff;
  };
  ivt(0x20, 'timer');
  ivt(6, 'ud');
  ivt(0x30, 'soft');
  m.load(CODE, code, CODE, 0x1f000);
  return { machine: m, labels: a.labels, at: (l) => a.labels.get(l)! };
}
