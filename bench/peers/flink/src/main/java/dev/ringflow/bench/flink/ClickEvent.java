package dev.ringflow.bench.flink;

/**
 * A valid, enriched event as it travels between operators. A Flink POJO (public fields, no-arg
 * constructor) so the PojoSerializer handles it without Kryo.
 */
public class ClickEvent {
    public String eventId;
    public String userId;
    public long tsMs;
    public double amount;
    /** (type, region) group as one int; see {@link GroupCatalog}. */
    public int groupId;
    /**
     * Decided at the source in input order: windowEnd(ts) <= watermark before this event. Travels
     * with the row so the late verdict does not depend on how watermarks interleave across channels.
     */
    public boolean lateCandidate;

    public ClickEvent() {}
}
