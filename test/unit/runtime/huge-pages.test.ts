/**
 * Huge-page advice for the state buffers (huge-pages.ts): taken by the kernel where it can be, and
 * the buffer works the same either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadNativeModule } from '../../../src/kernels/native-module.js';
import { adviseHugePages } from '../../../src/runtime/huge-pages.js';

const THP_MODE_FILE = '/sys/kernel/mm/transparent_hugepage/enabled';
/** THP in `always` or `madvise` mode (the selected mode is in brackets). */
const thpAdvisable = existsSync(THP_MODE_FILE) && /\[(always|madvise)\]/.test(readFileSync(THP_MODE_FILE, 'utf8'));
const nativeBuilt = loadNativeModule() !== null;

describe('adviseHugePages', () => {
  test('small buffers are left alone', () => {
    expect(adviseHugePages(new SharedArrayBuffer(1 << 20))).toBe(false);
  });

  test.skipIf(!nativeBuilt || !thpAdvisable)('a large buffer is advised, and reads and writes as before', () => {
    const buffer = new SharedArrayBuffer(24 << 20);
    expect(adviseHugePages(buffer)).toBe(true);
    const words = new Uint32Array(buffer);
    for (let i = 0; i < words.length; i += 4099) words[i] = i;
    let sum = 0;
    for (let i = 0; i < words.length; i += 4099) sum += words[i] === i ? 1 : 0;
    expect(sum).toBe(Math.ceil(words.length / 4099));
  });
});
