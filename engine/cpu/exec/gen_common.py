# Shared by the CPU code generators (gen-alu-fast.py, gen-pre-fast.py): the
# ALU operations, their lazy-flag bodies, the condition codes and the 32-bit
# shift bodies, so both generated files compute flags with the same text.
ops = ['add','or','adc','sbb','and','sub','xor','cmp']
def body(op, a, b, size, mask):
    # returns lines computing r (masked) from a, b; sets lazy flags
    L=[]
    if op in ('add',):
        L.append(f'const r = ({a} + {b}) | 0;')
        L.append(f'c.lop1 = {a}; c.lop2 = {b}; c.laddres = r; c.lres = r; c.lsize = {size}; c.flagsLazy = ARITH_FLAGS;')
    elif op=='adc':
        L.append(f'const r = ({a} + {b} + c.getCF()) | 0;')
        L.append(f'c.lop1 = {a}; c.lop2 = {b}; c.laddres = r; c.lres = r; c.lsize = {size}; c.flagsLazy = ARITH_FLAGS;')
    elif op in ('sub','cmp'):
        L.append(f'const r = ({a} - {b}) | 0;')
        L.append(f'c.lop1 = r; c.lop2 = {b}; c.laddres = {a}; c.lres = r; c.lsize = {size}; c.flagsLazy = ARITH_FLAGS;')
    elif op=='sbb':
        L.append(f'const r = ({a} - {b} - c.getCF()) | 0;')
        L.append(f'c.lop1 = r; c.lop2 = {b}; c.laddres = {a}; c.lres = r; c.lsize = {size}; c.flagsLazy = ARITH_FLAGS;')
    else:
        sym={'and':'&','or':'|','xor':'^'}[op]
        L.append(f'const r = {a} {sym} {b};')
        L.append(f'c.flags &= ~(CF | OF | AF); c.flagsLazy = LOGIC_LAZY; c.lres = r; c.lsize = {size};')
    return L
cc = ['o','no','b','ae','e','ne','be','a','s','ns','p','np','l','ge','le','g']
conds = {
 'o':'c.getOF()','b':'c.getCF() !== 0','e':'c.getZF()','be':'c.getCF() !== 0 || c.getZF()','s':'c.getSF()','p':'c.getPF()','l':'c.getSF() !== c.getOF()','le':'c.getZF() || c.getSF() !== c.getOF()'}
shbody = {
 'rol': ['const r = (a << n) | (a >>> (32 - n));', 'const cf = r & 1;', 'c.setArith(cf | (((r >>> 31) ^ cf) ? OF : 0), CF | OF);'],
 'ror': ['const r = (a >>> n) | (a << (32 - n));', 'const cf = r >>> 31;', 'c.setArith(cf | ((cf ^ ((r >>> 30) & 1)) ? OF : 0), CF | OF);'],
 'shl': ['const r = a << n;', 'const cf = (a >>> (32 - n)) & 1;', 'c.flags = (c.flags & ~(CF | OF | AF)) | cf | (((r >>> 31) ^ cf) ? OF : 0); c.lres = r; c.lsize = 31; c.flagsLazy = LOGIC_LAZY;'],
 'shr': ['const r = a >>> n;', 'const cf = (a >>> (n - 1)) & 1;', 'c.flags = (c.flags & ~(CF | OF | AF)) | cf | ((a >>> 31) ? OF : 0); c.lres = r; c.lsize = 31; c.flagsLazy = LOGIC_LAZY;'],
 'sar': ['const r = a >> n;', 'const cf = (a >> (n - 1)) & 1;', 'c.flags = (c.flags & ~(CF | OF | AF)) | cf; c.lres = r; c.lsize = 31; c.flagsLazy = LOGIC_LAZY;'],
}
