package dev.ringflow.bench.flink;

import java.nio.file.Path;

/** Command-line options of the peer job; every flag has a default except --input and --out. */
final class JobOptions {
    enum Watermarks { PUNCTUATED, PERIODIC }
    enum LateMode { SOURCE, WINDOW }

    Path inputPath;
    Path outDir;
    Path countriesCsvPath = Path.of("examples/dims/countries.csv");
    int parallelism = 2;
    Watermarks watermarks = Watermarks.PUNCTUATED;
    LateMode lateMode = LateMode.SOURCE;
    DedupeFunction.Expiry dedupeExpiry = DedupeFunction.Expiry.TIMER;
    long windowSizeMs = 60_000;
    long allowedLatenessMs = 5_000;
    long dedupeHorizonMs = 3_600_000;

    static final String USAGE = String.join("\n",
            "usage: java -jar ringflow-flink-peer.jar --input <file.ndjson> --out <dir> [options]",
            "  --countries <csv>          country,region dimension. Default: examples/dims/countries.csv",
            "  --parallelism <n>          dedupe and window parallelism (source is 1). Default: 2",
            "  --watermarks punctuated|periodic",
            "                             per-event watermarks, or Flink's 200 ms periodic ones. Default: punctuated",
            "  --late-mode source|window  late verdict at the source in input order (deterministic), or",
            "                             by the window operator (exact only at parallelism 1). Default: source",
            "  --dedupe-expiry timer|ttl|none",
            "                             event-time timer per key (the contract's 1 h horizon), 1 h",
            "                             processing-time state TTL, or never forget. Default: timer",
            "Prints one summary JSON line on stdout; writes <out>/aggregates.ndjson and <out>/summary.json.");

    static JobOptions parse(String[] args) {
        JobOptions o = new JobOptions();
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (flag.equals("--help") || flag.equals("-h")) {
                throw new IllegalArgumentException(USAGE);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value\n" + USAGE);
            }
            String v = args[++i];
            switch (flag) {
                case "--input" -> o.inputPath = Path.of(v);
                case "--out" -> o.outDir = Path.of(v);
                case "--countries" -> o.countriesCsvPath = Path.of(v);
                case "--parallelism" -> {
                    o.parallelism = Integer.parseInt(v);
                    if (o.parallelism < 1 || o.parallelism > 256) {
                        throw new IllegalArgumentException("--parallelism must be 1..256, got " + v);
                    }
                }
                case "--watermarks" -> o.watermarks = enumValue(Watermarks.class, flag, v);
                case "--late-mode" -> o.lateMode = enumValue(LateMode.class, flag, v);
                case "--dedupe-expiry" -> o.dedupeExpiry = enumValue(DedupeFunction.Expiry.class, flag, v);
                default -> throw new IllegalArgumentException("unknown option " + flag + "\n" + USAGE);
            }
        }
        if (o.inputPath == null || o.outDir == null) {
            throw new IllegalArgumentException("--input and --out are required\n" + USAGE);
        }
        if (!java.nio.file.Files.isRegularFile(o.inputPath)) {
            throw new IllegalArgumentException("--input: no such file " + o.inputPath);
        }
        if (!java.nio.file.Files.isRegularFile(o.countriesCsvPath)) {
            throw new IllegalArgumentException("--countries: no such file " + o.countriesCsvPath);
        }
        return o;
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, String flag, String value) {
        try {
            return Enum.valueOf(type, value.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(flag + " must be one of "
                    + java.util.Arrays.toString(type.getEnumConstants()).toLowerCase(java.util.Locale.ROOT) + ", got " + value);
        }
    }
}
