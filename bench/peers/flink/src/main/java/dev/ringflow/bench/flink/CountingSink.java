package dev.ringflow.bench.flink;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;

/** Counts the rows of a side output into a named accumulator and drops them. */
public final class CountingSink<T> extends RichSinkFunction<T> {
    private static final long serialVersionUID = 1L;

    private final String accumulatorName;
    private transient LongCounter counter;

    public CountingSink(String accumulatorName) {
        this.accumulatorName = accumulatorName;
    }

    @Override
    public void open(OpenContext openContext) {
        counter = new LongCounter();
        getRuntimeContext().addAccumulator(accumulatorName, counter);
    }

    @Override
    public void invoke(T value, Context context) {
        counter.add(1);
    }
}
