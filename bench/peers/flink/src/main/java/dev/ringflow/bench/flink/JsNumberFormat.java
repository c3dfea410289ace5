package dev.ringflow.bench.flink;

import java.math.BigDecimal;

/**
 * Prints a double so that JavaScript's Number parsing yields the same value, in the shape JS prints
 * it where that is cheap: integral values without ".0" (JS prints 12, Java 12.0). Other values use
 * Double.toString, which always round-trips (JDK 17 is not always the shortest form, but
 * `Number(text)` is the same double, and "1.0E-7" is valid JSON).
 */
final class JsNumberFormat {
    private JsNumberFormat() {}

    static String format(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("not a finite number: " + v);
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e21) {
            if (v == 0) return "0"; // also -0, as JSON.stringify prints it
            return Math.abs(v) < 0x1p63 ? Long.toString((long) v) : new BigDecimal(v).toPlainString();
        }
        return Double.toString(v);
    }
}
