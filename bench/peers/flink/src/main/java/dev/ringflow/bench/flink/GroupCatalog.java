package dev.ringflow.bench.flink;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The enrich dimension (country -> region, from a `country,region` CSV) and the numbering of
 * (type, region) groups: groupId = typeIndex * regionCount + regionIndex. Keying windows by an int
 * instead of a (type, region) tuple keeps the shuffle and the state keys small.
 */
public final class GroupCatalog implements Serializable {
    private static final long serialVersionUID = 1L;
    static final String UNKNOWN_REGION = "unknown";

    private final Map<String, Integer> regionIndexByCountry;
    private final String[] regions;
    private final int unknownRegionIndex;

    private GroupCatalog(Map<String, Integer> regionIndexByCountry, String[] regions) {
        this.regionIndexByCountry = regionIndexByCountry;
        this.regions = regions;
        this.unknownRegionIndex = java.util.Arrays.asList(regions).indexOf(UNKNOWN_REGION);
    }

    public static GroupCatalog load(Path csvPath) throws IOException {
        List<String> lines = Files.readAllLines(csvPath, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).trim().equals("country,region")) {
            throw new IOException(csvPath + ": expected header 'country,region'");
        }
        Map<String, Integer> byCountry = new HashMap<>();
        List<String> regionList = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String row = lines.get(i).trim();
            if (row.isEmpty()) continue;
            int comma = row.indexOf(',');
            if (comma <= 0) throw new IOException(csvPath + ":" + (i + 1) + ": expected 'country,region'");
            String country = row.substring(0, comma).trim();
            String region = row.substring(comma + 1).trim();
            if (!region.matches("[A-Za-z0-9_]+")) {
                // Output rows embed region names without JSON escaping.
                throw new IOException(csvPath + ":" + (i + 1) + ": region must match [A-Za-z0-9_]+");
            }
            int idx = regionList.indexOf(region);
            if (idx < 0) {
                idx = regionList.size();
                regionList.add(region);
            }
            byCountry.put(country, idx);
        }
        if (!regionList.contains(UNKNOWN_REGION)) regionList.add(UNKNOWN_REGION);
        return new GroupCatalog(byCountry, regionList.toArray(new String[0]));
    }

    public int groupId(int typeIndex, String country) {
        Integer r = regionIndexByCountry.get(country);
        return typeIndex * regions.length + (r != null ? r : unknownRegionIndex);
    }

    public String typeOf(int groupId) {
        return ClickEventParser.TYPES[groupId / regions.length];
    }

    public String regionOf(int groupId) {
        return regions[groupId % regions.length];
    }
}
