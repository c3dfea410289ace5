package dev.ringflow.bench.flink;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.connector.file.src.reader.StreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;

import java.io.IOException;
import java.util.Arrays;

/**
 * Splits a file into NDJSON lines as raw bytes, with the contract's line rules applied before any
 * decoding. Flink's TextLineInputFormat is not used because BufferedReader.readLine() also breaks on
 * a lone '\r' and measures lines in chars, while the contract splits on '\n' only, strips one trailing
 * '\r' and measures the 1 MiB limit in bytes.
 *
 * <p>Emitted values: the line's bytes (trailing '\r' removed), or {@link #TOO_LONG} (a shared empty
 * array, never otherwise emitted because empty and whitespace-only lines are skipped here).
 */
public final class NdjsonLineFormat extends SimpleStreamFormat<byte[]> {
    private static final long serialVersionUID = 1L;

    /** Marker for a line over {@link #MAX_LINE_BYTES}; its bytes are never buffered. */
    public static final byte[] TOO_LONG = new byte[0];

    /** 1 MiB: longer lines are invalid (`line_too_long`). */
    public static final int MAX_LINE_BYTES = 1 << 20;

    private static final int READ_CHUNK_BYTES = 1 << 18;

    @Override
    public StreamFormat.Reader<byte[]> createReader(Configuration config, FSDataInputStream stream) {
        return new LineReader(stream);
    }

    @Override
    public TypeInformation<byte[]> getProducedType() {
        return PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
    }

    /** JSON whitespace ('\n' cannot occur in a line); a line made only of these is not input at all. */
    static boolean isJsonWhitespace(byte b) {
        return b == ' ' || b == '\t' || b == '\r';
    }

    private static final class LineReader implements StreamFormat.Reader<byte[]> {
        private final FSDataInputStream in;
        private final byte[] chunk = new byte[READ_CHUNK_BYTES];
        private int chunkPos;
        private int chunkLen;
        private boolean eof;
        // Holds the current line while it spans chunk boundaries; grows up to MAX_LINE_BYTES + 1
        // (the +1 leaves room for a trailing '\r' that is stripped afterwards).
        private byte[] line = new byte[4096];
        private int lineLen;

        LineReader(FSDataInputStream in) {
            this.in = in;
        }

        @Override
        public byte[] read() throws IOException {
            while (true) {
                boolean tooLong = false;
                boolean allWhitespace = true;
                boolean sawAnyByte = false;
                lineLen = 0;
                boolean ended = false;
                while (!ended) {
                    if (chunkPos == chunkLen) {
                        if (eof || !fill()) {
                            break;
                        }
                    }
                    int start = chunkPos;
                    int nl = indexOfNewline(chunk, start, chunkLen);
                    int end = nl < 0 ? chunkLen : nl;
                    chunkPos = nl < 0 ? chunkLen : nl + 1;
                    ended = nl >= 0;
                    sawAnyByte |= end > start || ended;
                    for (int i = start; i < end && allWhitespace; i++) {
                        allWhitespace = isJsonWhitespace(chunk[i]);
                    }
                    if (!tooLong) {
                        int n = end - start;
                        if ((long) lineLen + n > MAX_LINE_BYTES + 1L) {
                            tooLong = true; // keep scanning to the newline, keep nothing
                        } else {
                            append(chunk, start, n);
                        }
                    }
                }
                if (!sawAnyByte) {
                    return null; // end of file
                }
                if (!tooLong && lineLen > 0 && line[lineLen - 1] == '\r') {
                    lineLen--;
                }
                // Length before whitespace, as the reference decides: a reader that stops buffering at
                // 1 MiB cannot know whether the rest of the line is whitespace.
                if (tooLong || lineLen > MAX_LINE_BYTES) {
                    return TOO_LONG;
                }
                if (allWhitespace) {
                    continue; // skipped and not counted
                }
                return Arrays.copyOf(line, lineLen);
            }
        }

        private boolean fill() throws IOException {
            int n = in.read(chunk, 0, chunk.length);
            if (n <= 0) {
                eof = true;
                chunkPos = 0;
                chunkLen = 0;
                return false;
            }
            chunkPos = 0;
            chunkLen = n;
            return true;
        }

        private void append(byte[] src, int off, int n) {
            if (lineLen + n > line.length) {
                line = Arrays.copyOf(line, Math.max(line.length * 2, lineLen + n));
            }
            System.arraycopy(src, off, line, lineLen, n);
            lineLen += n;
        }

        private static int indexOfNewline(byte[] buf, int from, int to) {
            for (int i = from; i < to; i++) {
                if (buf[i] == '\n') {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
