package io.hicmae.driver.prep;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;

/**
 * A small RFC 4180 reader: records end at LF, CRLF or CR; fields are separated by commas; a field in double quotes
 * may hold commas, line breaks and doubled quotes ({@code ""} for one {@code "}). Fields are returned as written,
 * without trimming. A UTF-8 byte order mark at the start is skipped. Malformed input (a quote inside an unquoted
 * field, text after a closing quote, an unclosed quote) fails naming the source and line.
 */
final class CsvReader {

    /**
     * One record.
     *
     * @param line the 1-based line on which the record starts
     * @param fields its fields, at least one; an empty line is one empty field
     */
    record CsvRecord(int line, List<String> fields) {
        /** Whether the record is an empty line. */
        boolean isBlank() {
            return fields.size() == 1 && fields.get(0).isBlank();
        }
    }

    private final String source;
    private final Reader in;
    private int line = 1;
    private int peeked = -2; // -2: nothing peeked
    private boolean started;

    /**
     * @param source names the input in errors, e.g. the file's URI
     * @param in the characters; not closed by this reader
     */
    CsvReader(String source, Reader in) {
        this.source = source;
        this.in = in;
    }

    /** Every record to the end of the input. */
    List<CsvRecord> readAll() throws IOException {
        List<CsvRecord> records = new ArrayList<>();
        CsvRecord r;
        while ((r = next()) != null) {
            records.add(r);
        }
        return records;
    }

    /** The next record, or null at the end of the input. */
    CsvRecord next() throws IOException {
        if (!started) {
            started = true;
            if (peek() == '\uFEFF') {
                read();
            }
        }
        if (peek() == -1) {
            return null;
        }
        int first = line;
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        while (true) {
            int c = read();
            if (c == '"' && field.isEmpty()) {
                readQuoted(field);
                c = read();
                if (c != ',' && c != '\n' && c != '\r' && c != -1) {
                    throw new IllegalArgumentException(source + ", line " + line + ": character '" + (char) c
                            + "' after the closing quote of a field; quote the whole field");
                }
            }
            if (c == '"') {
                throw new IllegalArgumentException(source + ", line " + line + ": a quote inside the unquoted field '"
                        + field + "'; quote the whole field and double the quote");
            }
            if (c == ',') {
                fields.add(field.toString());
                field.setLength(0);
            } else if (c == '\n' || c == '\r' || c == -1) {
                if (c == '\r' && peek() == '\n') {
                    read();
                }
                if (c != -1) {
                    line++;
                }
                fields.add(field.toString());
                return new CsvRecord(first, List.copyOf(fields));
            } else {
                field.append((char) c);
            }
        }
    }

    /** Reads a quoted field's content after its opening quote, up to and including the closing quote. */
    private void readQuoted(StringBuilder field) throws IOException {
        int opened = line;
        while (true) {
            int c = read();
            if (c == -1) {
                throw new IllegalArgumentException(source + ", line " + opened + ": a quoted field is never closed");
            }
            if (c == '"') {
                if (peek() != '"') {
                    return;
                }
                read();
            } else if (c == '\n' || (c == '\r' && peek() != '\n')) {
                line++;
            }
            field.append((char) c);
        }
    }

    private int peek() throws IOException {
        if (peeked == -2) {
            peeked = in.read();
        }
        return peeked;
    }

    private int read() throws IOException {
        int c = peek();
        peeked = -2;
        return c;
    }
}
