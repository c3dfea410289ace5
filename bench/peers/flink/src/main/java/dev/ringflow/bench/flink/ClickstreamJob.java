package dev.ringflow.bench.flink;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.util.OutputTag;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The canonical clickstream pipeline (issue 4) as a Flink DataStream job on a local mini-cluster:
 *
 * <pre>
 *  FileSource(NDJSON bytes) -> parse+filter+enrich+late flag -> timestamps/watermarks   [parallelism 1]
 *    -> keyBy(event_id)  dedupe (first wins, event-time horizon), late -> side output   [parallelism p]
 *    -> keyBy(group)     tumbling 60 s event-time windows, aggregate                      [parallelism p]
 *    -> aggregates.ndjson, sorted                                                          [parallelism 1]
 * </pre>
 *
 * The source side stays at parallelism 1 because the contract assigns watermarks per source
 * partition in input order, and one file is one partition.
 */
public final class ClickstreamJob {
    private ClickstreamJob() {}

    public static void main(String[] args) throws Exception {
        long mainEnteredMs = System.currentTimeMillis();
        long jvmStartMs = mainEnteredMs - ManagementFactory.getRuntimeMXBean().getStartTime();
        JobOptions opts;
        try {
            opts = JobOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Files.createDirectories(opts.outDir);
        GroupCatalog catalog = GroupCatalog.load(opts.countriesCsvPath);

        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.createLocalEnvironment(opts.parallelism, miniClusterConfig());
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        buildPipeline(env, opts, catalog);

        long executeStartNs = System.nanoTime();
        JobExecutionResult result = env.execute("ringflow-canonical-clickstream");
        long wallMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - executeStartNs);
        long jobMs = result.getNetRuntime(TimeUnit.MILLISECONDS);

        long processCpuMs = processCpuMs();
        long peakRssMiB = peakRssMiB();
        long input = counter(result, Counters.INPUT);
        long invalid = counter(result, Counters.INVALID);
        long duplicates = counter(result, Counters.DUPLICATES);
        long late = counter(result, Counters.LATE) + counter(result, Counters.WINDOW_LATE);
        long accepted = counter(result, Counters.WINDOWED);
        String summary = String.format(Locale.ROOT,
                "{\"input\":%d,\"accepted\":%d,\"invalid\":%d,\"duplicates\":%d,\"late\":%d,"
                        + "\"elapsed_ms\":%d,\"events_per_sec\":%d,\"execute_wall_ms\":%d,\"jvm_start_ms\":%d,"
                        + "\"process_cpu_ms\":%d,\"peak_rss_mib\":%d,"
                        + "\"window_late\":%d,\"parallelism\":%d,\"watermarks\":\"%s\",\"late_mode\":\"%s\","
                        + "\"dedupe_expiry\":\"%s\",\"flink_version\":\"%s\",\"java_version\":\"%s\"}",
                input, accepted, invalid, duplicates, late,
                jobMs, jobMs > 0 ? Math.round(input * 1000.0 / jobMs) : 0, wallMs, jvmStartMs,
                processCpuMs, peakRssMiB,
                counter(result, Counters.WINDOW_LATE), opts.parallelism,
                opts.watermarks.name().toLowerCase(Locale.ROOT), opts.lateMode.name().toLowerCase(Locale.ROOT),
                opts.dedupeExpiry.name().toLowerCase(Locale.ROOT), EnvironmentInformation.getVersion(),
                System.getProperty("java.version"));
        Files.writeString(opts.outDir.resolve("summary.json"), summary + "\n", StandardCharsets.UTF_8);
        System.out.println(summary);
        if (input != accepted + invalid + duplicates + late) {
            System.err.println("reconciliation failed: input != accepted + invalid + duplicates + late");
            System.exit(3);
        }
    }

    private static void buildPipeline(StreamExecutionEnvironment env, JobOptions opts, GroupCatalog catalog) {
        FileSource<byte[]> source = FileSource
                .forRecordStreamFormat(new NdjsonLineFormat(),
                        new org.apache.flink.core.fs.Path(opts.inputPath.toAbsolutePath().toString()))
                .build();

        long boundMs = opts.allowedLatenessMs; // a local, so the lambda does not capture opts
        WatermarkStrategy<ClickEvent> watermarks = opts.watermarks == JobOptions.Watermarks.PUNCTUATED
                ? WatermarkStrategy.forGenerator(ctx -> new PunctuatedOutOfOrderness<>(boundMs))
                : WatermarkStrategy.forBoundedOutOfOrderness(Duration.ofMillis(boundMs));

        DataStream<ClickEvent> valid = env
                .fromSource(source, WatermarkStrategy.noWatermarks(), "ndjson-file").setParallelism(1)
                .flatMap(new ParseAndStampFunction(catalog, opts.windowSizeMs, opts.allowedLatenessMs))
                .name("parse-filter-enrich").setParallelism(1)
                .assignTimestampsAndWatermarks(watermarks.withTimestampAssigner((e, previous) -> e.tsMs))
                .name("event-time").setParallelism(1);

        SingleOutputStreamOperator<ClickEvent> deduped = valid
                .keyBy(e -> e.eventId)
                .process(new DedupeFunction(opts.dedupeHorizonMs, opts.dedupeExpiry,
                        opts.lateMode == JobOptions.LateMode.SOURCE))
                .name("dedupe");

        OutputTag<ClickEvent> windowLate = new OutputTag<>("window-late") {};
        SingleOutputStreamOperator<WindowMetrics.Row> rows = deduped
                .keyBy(e -> e.groupId)
                .window(TumblingEventTimeWindows.of(Duration.ofMillis(opts.windowSizeMs)))
                .sideOutputLateData(windowLate)
                .aggregate(new WindowMetrics.Aggregate(), new WindowMetrics.ToRow())
                .name("window-aggregate");

        rows.addSink(new AggregatesFileSink(
                        opts.outDir.resolve("aggregates.ndjson").toAbsolutePath().toString(), catalog))
                .name("aggregates-file").setParallelism(1);
        rows.getSideOutput(windowLate)
                .addSink(new CountingSink<>(Counters.WINDOW_LATE)).name("count-window-late");
    }

    private static Configuration miniClusterConfig() {
        Configuration conf = new Configuration();
        // Loopback only: the mini-cluster's RPC, blob and REST endpoints never listen on other interfaces.
        conf.set(JobManagerOptions.ADDRESS, "127.0.0.1");
        conf.set(JobManagerOptions.BIND_HOST, "127.0.0.1");
        conf.set(TaskManagerOptions.HOST, "127.0.0.1");
        conf.set(TaskManagerOptions.BIND_HOST, "127.0.0.1");
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        // Heap state (HashMapStateBackend): state objects are updated in place; RocksDB would serialize
        // every access and only pays off when state exceeds memory, which 2M events do not.
        conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        // Managed memory serves RocksDB and batch operators, neither used here.
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("32m"));
        // Functions never hold on to input records, so chained operators may pass them by reference.
        conf.set(PipelineOptions.OBJECT_REUSE, true);
        return conf;
    }

    /** CPU time of the whole JVM so far (all threads, JIT and GC included), -1 if unavailable. */
    private static long processCpuMs() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return TimeUnit.NANOSECONDS.toMillis(sun.getProcessCpuTime());
        }
        return -1;
    }

    /** The kernel's high-water mark of this process's resident set (Linux), -1 if unavailable. */
    private static long peakRssMiB() {
        try {
            for (String line : Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            // Not Linux, or an unexpected format: the runner's own polling still applies.
        }
        return -1;
    }

    private static long counter(JobExecutionResult result, String name) {
        Object v = result.getAccumulatorResult(name);
        return v == null ? 0 : ((Number) v).longValue();
    }
}
