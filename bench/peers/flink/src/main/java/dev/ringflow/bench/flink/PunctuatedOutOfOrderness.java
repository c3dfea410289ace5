package dev.ringflow.bench.flink;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;

/**
 * Bounded out-of-orderness like Flink's BoundedOutOfOrdernessWatermarks (watermark = maxTs - bound - 1),
 * but emitted after every event that raises maxTs instead of every 200 ms of processing time, so
 * windows close and dedupe keys expire at the same point of the input on every run, as in ringflow.
 */
public final class PunctuatedOutOfOrderness<T> implements WatermarkGenerator<T> {
    private final long boundMs;
    private long maxTsMs = Long.MIN_VALUE;

    public PunctuatedOutOfOrderness(long boundMs) {
        this.boundMs = boundMs;
    }

    @Override
    public void onEvent(T event, long eventTimestampMs, WatermarkOutput output) {
        if (eventTimestampMs > maxTsMs) {
            maxTsMs = eventTimestampMs;
            output.emitWatermark(new Watermark(maxTsMs - boundMs - 1));
        }
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        // Nothing: every watermark is emitted in onEvent.
    }
}
