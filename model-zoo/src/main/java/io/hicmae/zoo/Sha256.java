package io.hicmae.zoo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/** SHA-256 digests and the {@code sha256sum}-compatible SHA256SUMS format: "HEX  NAME" per line, sorted by name. */
final class Sha256 {
    private static final Pattern LINE = Pattern.compile("([0-9a-f]{64}) [ *](.+)");

    private Sha256() {}

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    static String hex(byte[] content) {
        return HexFormat.of().formatHex(newDigest().digest(content));
    }

    static String hex(MessageDigest digest) {
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Hashes a stream to its end. */
    static String hex(InputStream in) throws IOException {
        MessageDigest d = newDigest();
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            d.update(buf, 0, n);
        }
        return hex(d);
    }

    static byte[] format(Map<String, String> sums) {
        StringBuilder sb = new StringBuilder();
        new TreeMap<>(sums).forEach((name, hex) -> sb.append(hex).append("  ").append(name).append('\n'));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Parses SHA256SUMS; {@code where} names the file in errors. */
    static SortedMap<String, String> parse(byte[] content, String where) throws ZooException {
        SortedMap<String, String> sums = new TreeMap<>();
        try (BufferedReader r = new BufferedReader(new StringReader(new String(content, StandardCharsets.UTF_8)))) {
            int n = 0;
            for (String line; (line = r.readLine()) != null; ) {
                n++;
                var m = LINE.matcher(line);
                if (!m.matches()) {
                    throw new ChecksumMismatchException(
                            Store.SUMS, "Malformed line " + n + " of " + where + ": expected 'SHA256  NAME'");
                }
                sums.put(m.group(2), m.group(1));
            }
        } catch (ZooException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("reading a string cannot fail", e);
        }
        return sums;
    }
}
