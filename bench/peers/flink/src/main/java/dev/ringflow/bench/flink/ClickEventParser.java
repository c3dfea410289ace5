package dev.ringflow.bench.flink;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;

import java.io.IOException;

/**
 * Decides whether one NDJSON line is a valid canonical clickstream event, with the results of
 * JSON.parse + the issue-4 field rules, and leaves the fields of a valid one in its public members.
 *
 * <p>Where Jackson and JSON.parse differ, this class bridges the gap:
 * <ul>
 *   <li>Duplicate keys: the last occurrence decides (JSON.parse semantics), so each field's verdict
 *       is only taken after the closing brace.</li>
 *   <li>Limits: Jackson caps nesting depth and number length by default; JSON.parse does not.</li>
 *   <li>Encoding: Jackson sniffs a BOM / UTF-16 from the first bytes; Node decodes the file as UTF-8
 *       and JSON.parse rejects U+FEFF and NUL outside strings, so such lines are invalid up front.</li>
 *   <li>Invalid UTF-8: Node replaces bad sequences with U+FFFD and JSON.parse may still accept the
 *       line; Jackson throws on some and silently decodes others (overlong forms, encoded surrogates),
 *       so a non-ASCII line that is not strict UTF-8 is decoded like Node ({@link NodeUtf8}) and parsed
 *       from text. The 1 MiB limit is still taken on
 *       the raw bytes; the reference measures the decoded text, which differs only for such lines.</li>
 * </ul>
 * Not thread-safe: one instance per parallel subtask.
 */
public final class ClickEventParser {
    static final long TS_MIN_MS = 946_684_800_000L;
    static final long TS_MAX_EXCLUSIVE_MS = 4_102_444_800_000L;
    static final int MAX_ID_BYTES = 64;
    static final String[] TYPES = {"view", "click", "add_to_cart", "purchase"};

    private final JsonFactory factory = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE)
                    .maxNumberLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNameLength(Integer.MAX_VALUE)
                    .build())
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .build();

    // Fields of the last valid event.
    public String eventId;
    public String userId;
    public long tsMs;
    public int typeIndex;
    public double amount;
    public String country;

    /** @return true when the line is a valid event; its fields are then in this object. */
    public boolean parse(byte[] line) {
        if (line.length == 0 || hasNulInFirstFourBytes(line) || startsWithUtf8Bom(line)) {
            return false; // JSON.parse rejects NUL anywhere and U+FEFF outside strings
        }
        if (!isAscii(line) && !NodeUtf8.isValid(line)) {
            // Decode as Node does (each bad sequence becomes U+FFFD), then parse the text.
            return parseDecoded(NodeUtf8.decode(line));
        }
        try (JsonParser p = factory.createParser(line)) {
            return parseObject(p);
        } catch (IOException e) {
            return false;
        }
    }

    private boolean parseDecoded(String text) {
        try (JsonParser p = factory.createParser(text)) {
            return parseObject(p);
        } catch (IOException e) {
            return false;
        }
    }

    // Field verdicts: a field is ABSENT, OK (value held), or BAD (wrong type); a later duplicate key
    // overwrites the verdict, as the later property overwrites the earlier in JSON.parse.
    private static final int ABSENT = 0;
    private static final int OK = 1;
    private static final int BAD = 2;

    private boolean parseObject(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            return false;
        }
        int eventIdState = ABSENT, userIdState = ABSENT, tsState = ABSENT, typeState = ABSENT;
        int amountState = ABSENT, countryState = ABSENT;
        String eventIdValue = null, userIdValue = null, typeValue = null, countryValue = null;
        double tsValue = 0, amountValue = 0;

        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            t = p.nextToken();
            switch (name) {
                case "event_id":
                    eventIdState = t == JsonToken.VALUE_STRING ? OK : BAD;
                    eventIdValue = eventIdState == OK ? p.getText() : null;
                    break;
                case "user_id":
                    userIdState = t == JsonToken.VALUE_STRING ? OK : BAD;
                    userIdValue = userIdState == OK ? p.getText() : null;
                    break;
                case "type":
                    typeState = t == JsonToken.VALUE_STRING ? OK : BAD;
                    typeValue = typeState == OK ? p.getText() : null;
                    break;
                case "ts":
                    tsState = t.isNumeric() ? OK : BAD;
                    tsValue = tsState == OK ? p.getDoubleValue() : 0;
                    break;
                case "amount":
                    // null means 0, exactly like an absent field.
                    amountState = t == JsonToken.VALUE_NULL ? ABSENT : t.isNumeric() ? OK : BAD;
                    amountValue = amountState == OK ? p.getDoubleValue() : 0;
                    break;
                case "country":
                    countryState = t == JsonToken.VALUE_NULL ? ABSENT : t == JsonToken.VALUE_STRING ? OK : BAD;
                    countryValue = countryState == OK ? p.getText() : null;
                    break;
                default:
                    break;
            }
            // Skips the value of an ignored field, or a structured value given to a known one.
            p.skipChildren();
        }
        if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
            return false; // not an object, or trailing data after it
        }

        if (eventIdState != OK || !idLengthOk(eventIdValue)) return false;
        if (userIdState != OK || !idLengthOk(userIdValue)) return false;
        if (tsState != OK) return false;
        // JSON.parse yields a double; Number.isInteger + the range decide validity.
        if (!(tsValue >= TS_MIN_MS && tsValue < TS_MAX_EXCLUSIVE_MS) || tsValue != Math.rint(tsValue)) return false;
        if (typeState != OK) return false;
        int typeIdx = typeIndexOf(typeValue);
        if (typeIdx < 0) return false;
        if (amountState == BAD) return false;
        if (amountState == OK && !(Double.isFinite(amountValue) && amountValue >= 0)) return false;
        if (countryState == BAD) return false;
        if (countryState == OK && !isCountryCode(countryValue)) return false;

        this.eventId = eventIdValue;
        this.userId = userIdValue;
        this.tsMs = (long) tsValue;
        this.typeIndex = typeIdx;
        this.amount = amountState == OK ? amountValue + 0.0 : 0; // -0 + 0 = +0, as the reference
        this.country = countryState == OK ? countryValue : "ZZ";
        return true;
    }

    private static int typeIndexOf(String s) {
        for (int i = 0; i < TYPES.length; i++) {
            if (TYPES[i].equals(s)) return i;
        }
        return -1;
    }

    private static boolean isCountryCode(String s) {
        return s.length() == 2 && isUpperAscii(s.charAt(0)) && isUpperAscii(s.charAt(1));
    }

    private static boolean isUpperAscii(char c) {
        return c >= 'A' && c <= 'Z';
    }

    private static boolean idLengthOk(String s) {
        int n = utf8Length(s, MAX_ID_BYTES + 1);
        return n >= 1 && n <= MAX_ID_BYTES;
    }

    /**
     * UTF-8 byte length as Node's Buffer.byteLength counts it (a lone surrogate is written as U+FFFD,
     * 3 bytes; String.getBytes would write '?', 1 byte). Stops counting once past {@code cap}.
     */
    static int utf8Length(String s, int cap) {
        int n = 0;
        for (int i = 0, len = s.length(); i < len && n <= cap; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < len && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    private static boolean hasNulInFirstFourBytes(byte[] b) {
        for (int i = 0, n = Math.min(4, b.length); i < n; i++) {
            if (b[i] == 0) return true;
        }
        return false;
    }

    private static boolean startsWithUtf8Bom(byte[] b) {
        return b.length >= 3 && (b[0] & 0xff) == 0xEF && (b[1] & 0xff) == 0xBB && (b[2] & 0xff) == 0xBF;
    }

    private static boolean isAscii(byte[] b) {
        for (byte x : b) {
            if (x < 0) return false;
        }
        return true;
    }
}
