package dev.ringflow.bench.flink;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.util.Collector;

/**
 * Filter + enrich + late flag, chained to the file source at parallelism 1 (the file is one source
 * partition, so this sees every line in input order, as ringflow's main thread does).
 *
 * <p>The late flag copies the contract: watermark = maxTs over earlier valid events (duplicates
 * included) - allowed lateness, and a valid event is a late candidate when windowEnd(ts) <= watermark
 * before it is counted. Flink's own bounded-out-of-orderness watermark (maxTs - lateness - 1, late when
 * window.maxTimestamp() <= watermark) is the same rule, but a downstream window task with several input
 * channels takes the minimum over channels at the moment the row arrives, which depends on thread
 * timing; deciding here keeps the verdict deterministic at any parallelism.
 */
public final class ParseAndStampFunction extends RichFlatMapFunction<byte[], ClickEvent> {
    private static final long serialVersionUID = 1L;

    private final GroupCatalog catalog;
    private final long windowSizeMs;
    private final long allowedLatenessMs;

    private transient ClickEventParser parser;
    private transient LongCounter inputLines;
    private transient LongCounter invalidLines;
    private transient long maxTsMs;
    private transient boolean anyValid;

    public ParseAndStampFunction(GroupCatalog catalog, long windowSizeMs, long allowedLatenessMs) {
        this.catalog = catalog;
        this.windowSizeMs = windowSizeMs;
        this.allowedLatenessMs = allowedLatenessMs;
    }

    @Override
    public void open(OpenContext openContext) {
        parser = new ClickEventParser();
        inputLines = new LongCounter();
        invalidLines = new LongCounter();
        getRuntimeContext().addAccumulator(Counters.INPUT, inputLines);
        getRuntimeContext().addAccumulator(Counters.INVALID, invalidLines);
    }

    @Override
    public void flatMap(byte[] line, Collector<ClickEvent> out) {
        inputLines.add(1);
        // An empty array is the line_too_long marker: the reader never emits empty lines, and a
        // serializer copy between operators would lose the marker's identity.
        if (line.length == 0 || !parser.parse(line)) {
            invalidLines.add(1);
            return;
        }
        long ts = parser.tsMs;
        long windowEndMs = Math.floorDiv(ts, windowSizeMs) * windowSizeMs + windowSizeMs;
        boolean late = anyValid && windowEndMs <= maxTsMs - allowedLatenessMs;
        if (!anyValid || ts > maxTsMs) {
            maxTsMs = ts;
            anyValid = true;
        }
        ClickEvent e = new ClickEvent();
        e.eventId = parser.eventId;
        e.userId = parser.userId;
        e.tsMs = ts;
        e.amount = parser.amount;
        e.groupId = catalog.groupId(parser.typeIndex, parser.country);
        e.lateCandidate = late;
        out.collect(e);
    }
}
