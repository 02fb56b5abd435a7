/**
 * Node's native SHA-256 for SYNC hashing: the same digests as the engine's JS
 * SHA-256, many times faster. Pass `nativeSha256` as the Runner's `sha256`
 * option (record, replay, startRecording/startReplay options).
 */
import { createHash } from 'node:crypto';
import type { Sha256Provider } from '../replay/sync.js';

export const nativeSha256: Sha256Provider = {
  digestInto(data, out, at) {
    out.set(createHash('sha256').update(data).digest(), at);
  },
  create() {
    const h = createHash('sha256');
    return {
      update: (d: Uint8Array) => h.update(d),
      digest: () => new Uint8Array(h.digest()),
    };
  },
};
