package dev.ringflow.bench.flink;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Writes aggregates.ndjson in ringflow's row format, sorted by (window_start, type, region) so files
 * from different systems can be compared line by line. Runs at parallelism 1; the output is one row
 * per (window, group), small next to the input, so it is buffered and written at end of input.
 */
public final class AggregatesFileSink extends RichSinkFunction<WindowMetrics.Row> {
    private static final long serialVersionUID = 1L;

    private final String outputPath;
    private final GroupCatalog catalog;
    private transient List<WindowMetrics.Row> rows;
    private transient LongCounter windowed;

    public AggregatesFileSink(String outputPath, GroupCatalog catalog) {
        this.outputPath = outputPath;
        this.catalog = catalog;
    }

    @Override
    public void open(OpenContext openContext) {
        rows = new ArrayList<>();
        windowed = new LongCounter();
        getRuntimeContext().addAccumulator(Counters.WINDOWED, windowed);
    }

    @Override
    public void invoke(WindowMetrics.Row row, Context context) {
        rows.add(row);
        windowed.add(row.count);
    }

    @Override
    public void finish() {
        rows.sort(Comparator.<WindowMetrics.Row>comparingLong(r -> r.windowStartMs)
                .thenComparing(r -> catalog.typeOf(r.groupId))
                .thenComparing(r -> catalog.regionOf(r.groupId)));
        try (BufferedWriter w = Files.newBufferedWriter(Path.of(outputPath), StandardCharsets.UTF_8)) {
            for (WindowMetrics.Row r : rows) {
                w.write(toJson(r));
                w.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + outputPath, e);
        }
    }

    private String toJson(WindowMetrics.Row r) {
        // type and region are plain identifiers (GroupCatalog checks regions), so no escaping.
        return "{\"window_start\":" + r.windowStartMs
                + ",\"window_end\":" + r.windowEndMs
                + ",\"type\":\"" + catalog.typeOf(r.groupId) + "\""
                + ",\"region\":\"" + catalog.regionOf(r.groupId) + "\""
                + ",\"count\":" + r.count
                + ",\"amount_sum\":" + JsNumberFormat.format(r.amountSum)
                + ",\"amount_max\":" + JsNumberFormat.format(r.amountMax)
                + ",\"users_approx\":" + r.users
                + "}";
    }
}
