package dev.ringflow.bench.flink;

/** Accumulator names; the job's summary reads them from the JobExecutionResult. */
final class Counters {
    static final String INPUT = "input";
    static final String INVALID = "invalid";
    static final String DUPLICATES = "duplicates";
    static final String LATE = "late";
    /** Rows the window operator itself dropped as late; 0 unless --late-mode window. */
    static final String WINDOW_LATE = "window_late";
    /** Sum of `count` over the emitted aggregate rows, i.e. accepted events. */
    static final String WINDOWED = "windowed";

    private Counters() {}
}
