package dev.ringflow.bench.flink;

/**
 * UTF-8 decoding with replacement exactly as Node's Buffer#toString does it (the WHATWG Encoding
 * Standard's decoder: one U+FFFD per maximal invalid subpart). The JDK's decoder replaces some
 * sequences differently (an encoded surrogate ED A0 80 becomes one U+FFFD instead of three), which
 * changes the UTF-8 length of an id and so its validity.
 */
final class NodeUtf8 {
    private NodeUtf8() {}

    /** Whether the bytes are strict UTF-8, i.e. decoding replaces nothing. */
    static boolean isValid(byte[] bytes) {
        return decode(bytes, null);
    }

    static String decode(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length);
        decode(bytes, sb);
        return sb.toString();
    }

    /** Decodes into {@code out} (when not null); returns true when no replacement was needed. */
    private static boolean decode(byte[] bytes, StringBuilder out) {
        boolean valid = true;
        int needed = 0, seen = 0, codePoint = 0, lower = 0x80, upper = 0xBF;
        int i = 0;
        while (i < bytes.length) {
            int b = bytes[i] & 0xFF;
            if (needed == 0) {
                i++;
                if (b <= 0x7F) {
                    if (out != null) out.append((char) b);
                } else if (b >= 0xC2 && b <= 0xDF) {
                    needed = 1;
                    codePoint = b & 0x1F;
                } else if (b >= 0xE0 && b <= 0xEF) {
                    if (b == 0xE0) lower = 0xA0;
                    if (b == 0xED) upper = 0x9F;
                    needed = 2;
                    codePoint = b & 0x0F;
                } else if (b >= 0xF0 && b <= 0xF4) {
                    if (b == 0xF0) lower = 0x90;
                    if (b == 0xF4) upper = 0x8F;
                    needed = 3;
                    codePoint = b & 0x07;
                } else {
                    valid = false;
                    if (out != null) out.append('\uFFFD');
                }
                continue;
            }
            if (b < lower || b > upper) {
                // The sequence ends before this byte, which is then decoded on its own (not consumed).
                needed = seen = codePoint = 0;
                lower = 0x80;
                upper = 0xBF;
                valid = false;
                if (out != null) out.append('\uFFFD');
                continue;
            }
            i++;
            lower = 0x80;
            upper = 0xBF;
            codePoint = (codePoint << 6) | (b & 0x3F);
            if (++seen == needed) {
                if (out != null) out.appendCodePoint(codePoint);
                needed = seen = codePoint = 0;
            }
        }
        if (needed != 0) {
            valid = false;
            if (out != null) out.append('\uFFFD');
        }
        return valid;
    }
}
