package dev.ringflow.bench.flink;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.time.Duration;

/**
 * Dedupe keyed by event_id: the first occurrence wins, later ones are counted as duplicates.
 *
 * <p>Horizon, one of {@link Expiry}:
 * <ul>
 *   <li>TIMER (default): the contract's event-time horizon, a key forgotten once the watermark passes
 *       firstTs + horizon, by one event-time timer per key. Every dedupe subtask has one upstream channel
 *       (the parallelism-1 source), so its watermark follows the input order and expiry is deterministic
 *       with punctuated watermarks.</li>
 *   <li>TTL: StateTtlConfig, 1 h of processing time, Flink's built-in state expiry (what Flink SQL's
 *       deduplication uses). A bench run takes minutes, so nothing expires and the result equals the
 *       reference's never-forgetting Set; memory is bounded by wall-clock time, not event time.</li>
 *   <li>NONE: never forget (unbounded state); the cheapest, for an upper bound on Flink's speed.</li>
 * </ul>
 * Measured on the 2M-event bench file, TIMER and TTL each cost about half again the CPU of NONE.
 *
 * <p>Late: a late candidate's key is recorded (so a later copy is still a duplicate) and, when it is
 * not a duplicate itself, it goes to the {@link #LATE} side output instead of the windows.
 */
public final class DedupeFunction extends KeyedProcessFunction<String, ClickEvent, ClickEvent> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<ClickEvent> LATE = new OutputTag<>("late") {};

    public enum Expiry { TTL, TIMER, NONE }

    private final long horizonMs;
    private final Expiry expiry;
    private final boolean lateDecidedAtSource;

    private transient ValueState<Boolean> seen;
    private transient LongCounter duplicates;
    private transient LongCounter late;

    public DedupeFunction(long horizonMs, Expiry expiry, boolean lateDecidedAtSource) {
        this.horizonMs = horizonMs;
        this.expiry = expiry;
        this.lateDecidedAtSource = lateDecidedAtSource;
    }

    @Override
    public void open(OpenContext openContext) {
        ValueStateDescriptor<Boolean> descriptor = new ValueStateDescriptor<>("seen", Boolean.class);
        if (expiry == Expiry.TTL) {
            descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMillis(horizonMs))
                    .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                    .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                    .build());
        }
        seen = getRuntimeContext().getState(descriptor);
        duplicates = new LongCounter();
        late = new LongCounter();
        getRuntimeContext().addAccumulator(Counters.DUPLICATES, duplicates);
        getRuntimeContext().addAccumulator(Counters.LATE, late);
    }

    @Override
    public void processElement(ClickEvent e, Context ctx, Collector<ClickEvent> out) throws Exception {
        if (seen.value() != null) {
            duplicates.add(1);
            return;
        }
        seen.update(Boolean.TRUE);
        if (expiry == Expiry.TIMER) {
            ctx.timerService().registerEventTimeTimer(e.tsMs + horizonMs);
        }
        if (lateDecidedAtSource && e.lateCandidate) {
            late.add(1);
            ctx.output(LATE, e);
            return;
        }
        out.collect(e);
    }

    @Override
    public void onTimer(long timestampMs, OnTimerContext ctx, Collector<ClickEvent> out) {
        seen.clear();
    }
}
