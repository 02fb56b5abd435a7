/**
 * Register and descriptor bit definitions of the AMD PCnet-PCI II
 * (Am79C970A), after the AMD datasheet (publication 19436), plus the two
 * CRC-32 flavours the chip uses: the Ethernet FCS and the logical address
 * filter hash. Shared by pcnet.ts and its tests.
 */

export const PCNET_VENDOR_ID = 0x1022;
export const PCNET_DEVICE_ID = 0x2000;
/** PCI revision of the Am79C970A (the 79C970 without "A" reports 0x0x). */
export const PCNET_REVISION = 0x10;
/** Chip ID in CSR89:CSR88: version 0, part number 0x2621 (79C970A), AMD manufacturer code 0x003 with bit 0 set. */
export const PCNET_CHIP_ID_LO = 0x1003;
export const PCNET_CHIP_ID_HI = 0x0262;
/** Size of the I/O BAR (APROM + registers). */
export const PCNET_IO_SIZE = 0x20;

// ---- I/O space offsets ----
export const PCNET_APROM = 0x00;
export const PCNET_WIO_RDP = 0x10;
export const PCNET_WIO_RAP = 0x12;
export const PCNET_WIO_RESET = 0x14;
export const PCNET_WIO_BDP = 0x16;
export const PCNET_DWIO_RDP = 0x10;
export const PCNET_DWIO_RAP = 0x14;
export const PCNET_DWIO_RESET = 0x18;
export const PCNET_DWIO_BDP = 0x1c;

// ---- CSR0: controller status and control ----
export const PCNET_CSR0_INIT = 0x0001;
export const PCNET_CSR0_STRT = 0x0002;
export const PCNET_CSR0_STOP = 0x0004;
export const PCNET_CSR0_TDMD = 0x0008;
export const PCNET_CSR0_TXON = 0x0010;
export const PCNET_CSR0_RXON = 0x0020;
export const PCNET_CSR0_IENA = 0x0040;
export const PCNET_CSR0_INTR = 0x0080;
export const PCNET_CSR0_IDON = 0x0100;
export const PCNET_CSR0_TINT = 0x0200;
export const PCNET_CSR0_RINT = 0x0400;
export const PCNET_CSR0_MERR = 0x0800;
export const PCNET_CSR0_MISS = 0x1000;
export const PCNET_CSR0_CERR = 0x2000;
export const PCNET_CSR0_BABL = 0x4000;
export const PCNET_CSR0_ERR = 0x8000;
/** The write-one-to-clear flags of CSR0. */
export const PCNET_CSR0_FLAGS = 0x7f00;
/** Flags that interrupt (CERR does not); CSR3 masks sit at the same bit positions. */
export const PCNET_CSR0_INT_SOURCES = 0x5f00;

// ---- CSR3: interrupt masks and deferral control ----
export const PCNET_CSR3_BSWP = 0x0004;
export const PCNET_CSR3_EMBA = 0x0008;
export const PCNET_CSR3_DXMT2PD = 0x0010;
export const PCNET_CSR3_LAPPEN = 0x0020;
export const PCNET_CSR3_DXSUFLO = 0x0040;
export const PCNET_CSR3_IDONM = 0x0100;
export const PCNET_CSR3_TINTM = 0x0200;
export const PCNET_CSR3_RINTM = 0x0400;
export const PCNET_CSR3_MERRM = 0x0800;
export const PCNET_CSR3_MISSM = 0x1000;
export const PCNET_CSR3_BABLM = 0x4000;
export const PCNET_CSR3_WRITABLE = 0x5f7c;

// ---- CSR4: test and features control ----
export const PCNET_CSR4_JABM = 0x0001;
export const PCNET_CSR4_JAB = 0x0002;
export const PCNET_CSR4_TXSTRTM = 0x0004;
export const PCNET_CSR4_TXSTRT = 0x0008;
export const PCNET_CSR4_RCVCCOM = 0x0010;
export const PCNET_CSR4_RCVCCO = 0x0020;
export const PCNET_CSR4_UINT = 0x0040;
export const PCNET_CSR4_UINTCMD = 0x0080;
export const PCNET_CSR4_MFCOM = 0x0100;
export const PCNET_CSR4_MFCO = 0x0200;
export const PCNET_CSR4_ASTRP_RCV = 0x0400;
export const PCNET_CSR4_APAD_XMT = 0x0800;
export const PCNET_CSR4_TXDPOLL = 0x1000;
export const PCNET_CSR4_DMAPLUS = 0x4000;
export const PCNET_CSR4_EN124 = 0x8000;
export const PCNET_CSR4_W1C = PCNET_CSR4_JAB | PCNET_CSR4_TXSTRT | PCNET_CSR4_RCVCCO | PCNET_CSR4_UINT | PCNET_CSR4_MFCO;
export const PCNET_CSR4_DEFAULT = 0x0115;

// ---- CSR5: extended control and interrupt 1 ----
export const PCNET_CSR5_SPND = 0x0001;
export const PCNET_CSR5_MPINTE = 0x0008;
export const PCNET_CSR5_MPINT = 0x0010;
export const PCNET_CSR5_EXDINTE = 0x0040;
export const PCNET_CSR5_EXDINT = 0x0080;
export const PCNET_CSR5_SLPINTE = 0x0100;
export const PCNET_CSR5_SLPINT = 0x0200;
export const PCNET_CSR5_SINTE = 0x0400;
export const PCNET_CSR5_SINT = 0x0800;
export const PCNET_CSR5_LTINTEN = 0x4000;
export const PCNET_CSR5_W1C = PCNET_CSR5_MPINT | PCNET_CSR5_EXDINT | PCNET_CSR5_SLPINT | PCNET_CSR5_SINT;

// ---- CSR15: mode ----
export const PCNET_CSR15_DRX = 0x0001;
export const PCNET_CSR15_DTX = 0x0002;
export const PCNET_CSR15_LOOP = 0x0004;
export const PCNET_CSR15_DXMTFCS = 0x0008;
export const PCNET_CSR15_INTL = 0x0040;
export const PCNET_CSR15_PORTSEL = 0x0180;
export const PCNET_CSR15_DRCVPA = 0x2000;
export const PCNET_CSR15_DRCVBC = 0x4000;
export const PCNET_CSR15_PROM = 0x8000;

// ---- CSR124: BMU test ----
export const PCNET_CSR124_RPA = 0x0008;
export const PCNET_CSR124_GPSIEN = 0x0010;

// ---- BCRs ----
export const PCNET_BCR_MC = 2;
export const PCNET_BCR_LED0 = 4;
export const PCNET_BCR_FDC = 9;
export const PCNET_BCR_BSBC = 18;
export const PCNET_BCR_EECAS = 19;
export const PCNET_BCR_SWS = 20;
export const PCNET_BCR_PCILAT = 22;
export const PCNET_BCR_MIICAS = 32;
export const PCNET_BCR_MIIADDR = 33;
export const PCNET_BCR_MIIMDR = 34;
export const PCNET_BCR_COUNT = 64;

export const PCNET_BCR2_ASEL = 0x0002;
export const PCNET_BCR2_APROMWE = 0x0100;
export const PCNET_BCR_LED_LNKSE = 0x0040;
export const PCNET_BCR_LED_LEDOUT = 0x8000;
export const PCNET_BCR9_FDEN = 0x0001;
export const PCNET_BCR18_DWIO = 0x0080;
export const PCNET_BCR20_SSIZE32 = 0x0100;
export const PCNET_BCR20_CSRPCNET = 0x0200;
export const PCNET_BCR20_APERREN = 0x0400;

// ---- descriptor status (the upper 16 bits of TMD1/RMD1 in the 32-bit styles;
// the high byte of the second word, shifted left by 8, in software style 0) ----
export const PCNET_DESC_OWN = 0x8000;
export const PCNET_DESC_ERR = 0x4000;
export const PCNET_DESC_STP = 0x0200;
export const PCNET_DESC_ENP = 0x0100;
export const PCNET_DESC_BPE = 0x0080;
export const PCNET_TMD_ADD_FCS = 0x2000;
/** MORE when CSR5.LTINTEN = 0 (set by the chip), LTINT when LTINTEN = 1 (set by the driver). */
export const PCNET_TMD_MORE_LTINT = 0x1000;
export const PCNET_TMD_ONE = 0x0800;
export const PCNET_TMD_DEF = 0x0400;
export const PCNET_RMD_FRAM = 0x2000;
export const PCNET_RMD_OFLO = 0x1000;
export const PCNET_RMD_CRC = 0x0800;
export const PCNET_RMD_BUFF = 0x0400;
export const PCNET_RMD_PAM = 0x0040;
export const PCNET_RMD_LAFM = 0x0020;
export const PCNET_RMD_BAM = 0x0010;
// TMD2 (32-bit styles; TMD3 << 16 in style 0)
export const PCNET_TMD2_BUFF = 0x80000000;
export const PCNET_TMD2_UFLO = 0x40000000;
export const PCNET_TMD2_LCAR = 0x08000000;

/** Ethernet sizes, without the FCS unless named so. */
export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
export const ETH_ZLEN = 60;
export const ETH_FCS_LEN = 4;
/** Longest frame we accept from the wire: 1500 bytes of payload, a VLAN tag, no FCS. */
export const ETH_MAX_FRAME = 1518;
/** Longest frame on the wire with its FCS before the transmitter flags babble. */
export const ETH_MAX_WIRE = 1518;

// ---- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) ----
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The CRC register after `len` bytes, started from all ones and not inverted (the chip's hash input). */
export function crc32Register(data: Uint8Array, off: number, len: number): number {
  let c = -1;
  for (let i = 0; i < len; i++) c = CRC_TABLE[(c ^ data[off + i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The Ethernet frame check sequence of `len` bytes (appended little-endian: low byte first). */
export function ethFcs(data: Uint8Array, off: number, len: number): number {
  return ~crc32Register(data, off, len) >>> 0;
}

/**
 * The logical-address-filter bit (0-63) a multicast address selects: the top
 * six bits of the CRC register after the six destination bytes. LADRF bit n
 * lives in CSR(8 + n/16), bit n%16.
 */
export function ladrfHash(addr: Uint8Array, off = 0): number {
  return crc32Register(addr, off, ETH_ALEN) >>> 26;
}

/** Parses "aa:bb:cc:dd:ee:ff" (or with dashes); returns null if malformed. */
export function parseMacString(s: string): Uint8Array | null {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s.trim());
  if (!m) return null;
  const out = new Uint8Array(ETH_ALEN);
  for (let i = 0; i < ETH_ALEN; i++) out[i] = parseInt(m[i + 1]!, 16);
  return out;
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, ETH_ALEN), (b) => b.toString(16).padStart(2, '0')).join(':');
}
