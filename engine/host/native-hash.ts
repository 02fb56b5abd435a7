/**
 * Node's native SHA-256 for RAM page digests (the same digest as the engine's
 * JS SHA-256, many times faster): pass `nativePageHasher` as the Runner's
 * `pageHasher` option.
 */
import { createHash } from 'node:crypto';
import type { PageHasher } from '../replay/sync.js';

export const nativePageHasher: PageHasher = (page, out, at) => {
  out.set(createHash('sha256').update(page).digest(), at);
};
