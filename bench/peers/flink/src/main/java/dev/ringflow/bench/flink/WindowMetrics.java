package dev.ringflow.bench.flink;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

import java.util.HashSet;

/**
 * The per-(window, group) metrics: count, amount_sum, amount_max and distinct users. Distinct users are
 * exact (a HashSet of user ids), which is stricter than ringflow's HyperLogLog; with the heap state
 * backend the accumulator object lives in state and is updated in place, not serialized per event.
 */
public final class WindowMetrics {
    private WindowMetrics() {}

    /** Accumulator; a POJO except for the HashSet, which Flink serializes with Kryo (only on snapshots). */
    public static class Acc {
        public long count;
        public double amountSum;
        public double amountMax = Double.NEGATIVE_INFINITY;
        public HashSet<String> users = new HashSet<>();

        public Acc() {}
    }

    /** One output row of aggregates.ndjson before formatting. */
    public static class Row {
        public long windowStartMs;
        public long windowEndMs;
        public int groupId;
        public long count;
        public double amountSum;
        public double amountMax;
        public long users;

        public Row() {}
    }

    public static final class Aggregate implements AggregateFunction<ClickEvent, Acc, Acc> {
        private static final long serialVersionUID = 1L;

        @Override
        public Acc createAccumulator() {
            return new Acc();
        }

        @Override
        public Acc add(ClickEvent e, Acc acc) {
            acc.count++;
            acc.amountSum += e.amount;
            if (e.amount > acc.amountMax) acc.amountMax = e.amount;
            acc.users.add(e.userId);
            return acc;
        }

        @Override
        public Acc getResult(Acc acc) {
            return acc;
        }

        @Override
        public Acc merge(Acc a, Acc b) {
            a.count += b.count;
            a.amountSum += b.amountSum;
            a.amountMax = Math.max(a.amountMax, b.amountMax);
            a.users.addAll(b.users);
            return a;
        }
    }

    /** Attaches the window bounds and group to the final accumulator. */
    public static final class ToRow extends ProcessWindowFunction<Acc, Row, Integer, TimeWindow> {
        private static final long serialVersionUID = 1L;

        @Override
        public void process(Integer groupId, Context ctx, Iterable<Acc> accs, Collector<Row> out) {
            Acc acc = accs.iterator().next();
            Row r = new Row();
            r.windowStartMs = ctx.window().getStart();
            r.windowEndMs = ctx.window().getEnd();
            r.groupId = groupId;
            r.count = acc.count;
            r.amountSum = acc.amountSum;
            r.amountMax = acc.amountMax;
            r.users = acc.users.size();
            out.collect(r);
        }
    }
}
