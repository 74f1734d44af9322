package io.hicmae.zoo;

import java.io.IOException;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.s3a.S3AFileSystem;

/**
 * S3A whose existence check never sees a claim or a commit marker, as when another publisher creates it between
 * the zoo's check and its PUT: every exclusive create of one then reaches S3 as a conditional PUT.
 */
public final class RaceS3AFileSystem extends S3AFileSystem {
    @Override
    public boolean exists(Path f) throws IOException {
        boolean claim = f.getParent() != null && Store.CLAIMS.equals(f.getParent().getName());
        return !claim && !Store.MARKER.equals(f.getName()) && super.exists(f);
    }
}
