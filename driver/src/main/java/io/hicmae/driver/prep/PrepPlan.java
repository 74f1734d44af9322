package io.hicmae.driver.prep;

import com.google.gson.JsonObject;
import io.hicmae.driver.prep.InputListing.InputFile;
import io.hicmae.prep.QuarantineRecord;
import io.hicmae.runtime.data.ClipLabels;
import io.hicmae.runtime.data.ClipSchema;
import io.hicmae.runtime.data.LabelSpace;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;

/**
 * What a prep run will do, decided on the driver before anything is written: the input listed (a directory or a
 * manifest), the output's descriptor and label space checked against this run's, and the videos not yet in a
 * committed batch or the quarantine.
 *
 * @param previous the output's {@code _dataset.json}, or null for a new output
 * @param space this run's label space; empty for an unlabelled run
 * @param todo videos to decode
 * @param rejected inputs the listing quarantined (not regular files, missing manifest entries), not yet committed
 * @param seen inputs the listing saw
 * @param root the listed input root
 */
record PrepPlan(JsonObject previous, Optional<LabelSpace> space, List<InputFile> todo,
        List<QuarantineRecord> rejected, long seen, String root) {

    /** Videos this run decodes or quarantines. */
    long newVideos() {
        return todo.size() + rejected.size();
    }

    /** Lists the input and checks it against the output; fails before anything is written. */
    static PrepPlan make(PrepConfig config, PrepOutput output, Configuration hadoop) throws IOException {
        Path out = output.root();
        JsonObject previous = output.descriptor();
        DatasetDescriptor.checkSameSampling(previous, config, out);
        Manifest manifest = config.manifest() == null ? null : Manifest.read(config.manifest(), hadoop);
        Optional<LabelSpace> space = manifest == null ? Optional.empty() : Optional.of(manifest.space());
        checkSameLabelSpace(config, previous == null, previous == null ? Optional.empty()
                : LabelSpace.fromJson(previous, new Path(out, ClipSchema.DATASET_JSON).toString()), space, out);

        InputListing.Result listing = manifest == null
                ? InputListing.list(config.input(), hadoop, config.extensions())
                : InputListing.list(manifest, hadoop);
        if (manifest != null) {
            checkCommittedLabels(output, manifest, listing);
        }
        Set<String> done = output.committedSources();
        List<InputFile> todo = listing.files().stream().filter(f -> !done.contains(f.source())).toList();
        List<QuarantineRecord> rejected =
                listing.rejected().stream().filter(q -> !done.contains(q.source())).toList();
        return new PrepPlan(previous, space, todo, rejected, listing.seen(), listing.root());
    }

    /**
     * A dataset keeps one label space: a run whose manifest's label space (or its absence) differs from the
     * dataset's fails before it writes anything.
     *
     * @param existing the dataset's label space; empty when it is unlabelled or new
     * @param isNew whether there is no dataset at {@code out} yet
     */
    static void checkSameLabelSpace(PrepConfig config, boolean isNew, Optional<LabelSpace> existing,
            Optional<LabelSpace> space, Object out) {
        if (isNew || existing.equals(space)) {
            return;
        }
        if (space.isEmpty()) {
            throw PrepConfig.invalid(PrepConfig.INPUT, config.input(), "the dataset at " + out + " is labelled ("
                    + describe(existing) + "); add videos to it with --" + PrepConfig.MANIFEST + ", or prepare"
                    + " into a new output");
        }
        throw PrepConfig.invalid(PrepConfig.MANIFEST, config.manifest(), "its labels (" + describe(space)
                + ") differ from those of the dataset at " + out + " (" + describe(existing) + "); prepare into a new"
                + " output, or list the same classes or dimensions");
    }

    private static String describe(Optional<LabelSpace> space) {
        return space.map(s -> s.kind().label() + " " + s.names()).orElse("unlabelled");
    }

    /**
     * A video already in the dataset must have the labels the manifest gives it now: its clips are not prepared
     * again, so a changed label, split or fold would silently not apply.
     */
    private static void checkCommittedLabels(PrepOutput output, Manifest manifest, InputListing.Result listing)
            throws IOException {
        List<Path> dirs = output.clipBatches();
        if (dirs.isEmpty()) {
            return;
        }
        Map<String, InputFile> bySource = new HashMap<>();
        listing.files().forEach(f -> bySource.put(f.source(), f));
        List<Row> committed = output.read(dirs)
                .select(ClipSchema.SOURCE, ClipSchema.LABEL, ClipSchema.DIMENSIONS, ClipSchema.SPLIT, ClipSchema.FOLD)
                .distinct().collectAsList();
        for (Row r : committed) {
            InputFile f = bySource.get(r.getString(0));
            if (f == null) {
                continue;
            }
            float[] dims = new float[r.isNullAt(2) ? 0 : r.getList(2).size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = r.<Float>getList(2).get(i);
            }
            ClipLabels before = new ClipLabels(r.isNullAt(1) ? ClipLabels.NO_CATEGORY : r.getInt(1), dims,
                    r.isNullAt(3) ? null : r.getString(3), r.isNullAt(4) ? ClipLabels.NO_FOLD : r.getInt(4));
            if (!before.equals(f.labels())) {
                throw PrepConfig.invalid(PrepConfig.MANIFEST, manifest.file(), "video " + f.source() + " is already"
                        + " in the dataset at " + output.root() + " with " + before + ", the manifest now gives "
                        + f.labels() + "; prepare into a new output to change labels");
            }
        }
    }
}
