package io.hicmae.runtime.data;

/**
 * The clip dataset's on-disk contract: column names, the schema version, and tensor shapes. Dependency-free, so
 * any Parquet reader can use the names.
 *
 * <p>Dimension letters: T frames per clip, H and W the cropped frame height and width, C colour channels, S audio
 * samples per clip.
 *
 * <p>Byte layouts:
 *
 * <ul>
 *   <li>{@link #FRAMES}: uint8 RGB, (T, H, W, C) = (16, 160, 160, 3) row-major, so the byte of frame t, row y,
 *       column x, channel c is at {@code ((t * H + y) * W + x) * C + c}; 1,228,800 bytes.
 *   <li>{@link #PCM}: signed 16-bit little-endian mono samples at 16 kHz, (S,) = (40960,); 81,920 bytes.
 * </ul>
 *
 * <p>Each clip also carries its shape fields ({@link #FRAMES_T} .. {@link #PCM_SAMPLES}), so a reader can check
 * them against these constants before reshaping. A change to any column or layout bumps {@link #VERSION}.
 *
 * <p>Labels (version 2): a dataset prepared from a labelled manifest carries its video's labels in every clip row;
 * the clips of one video (its windows) share them and stay tied to it through {@link #SOURCE}. The label columns are
 * nullable, null in an unlabelled dataset, and absent from version-1 files (which readers still read, unlabelled).
 * Parquet types, as Spark writes them:
 *
 * <ul>
 *   <li>{@link #LABEL}: {@code optional int32}, the class index into the label space's names; null in a
 *       dimensional dataset.
 *   <li>{@link #DIMENSIONS}: {@code optional group (LIST) { repeated group list { required float element; } }}, the
 *       float32 targets in the label space's order; null in a categorical dataset.
 *   <li>{@link #SPLIT}: {@code optional binary (STRING)}, e.g. {@code train}, {@code val}, {@code test}; null when
 *       the manifest has no split column.
 *   <li>{@link #FOLD}: {@code optional int32}, a cross-validation fold from 0; null when the manifest has no fold
 *       column.
 * </ul>
 *
 * <p>The label space (kind and class or dimension names) is stored once, under {@link #DATASET_LABELS} in
 * {@link #DATASET_JSON}; see {@code LabelSpace}.
 */
public final class ClipSchema {

    /** Version of this schema, written into {@code _dataset.json}; bumped on any change of columns or layout. */
    public static final int VERSION = 2;
    /** The first version, without the label columns; still read, as an unlabelled dataset. */
    public static final int VERSION_UNLABELLED = 1;

    /** Deterministic id: the first 16 bytes of SHA-256 over the source path and window, as 32 hex digits. */
    public static final String CLIP_ID = "clip_id";
    /** The video's path relative to the input root, '/'-separated. */
    public static final String SOURCE = "source";
    /** Window index within the video, from 0. */
    public static final String WINDOW = "window";
    /** Start of the window in seconds from the video's first frame. */
    public static final String START_S = "start_s";
    /** The source's average frame rate as the container reports it. */
    public static final String FPS = "fps";
    /** The frames tensor, see the class comment for the layout. */
    public static final String FRAMES = "frames";
    /** The audio tensor, see the class comment for the layout. */
    public static final String PCM = "pcm";
    /** Shape field: T. */
    public static final String FRAMES_T = "frames_t";
    /** Shape field: H. */
    public static final String HEIGHT = "height";
    /** Shape field: W. */
    public static final String WIDTH = "width";
    /** Shape field: C. */
    public static final String CHANNELS = "channels";
    /** Shape field: audio sample rate in Hz. */
    public static final String SAMPLE_RATE = "sample_rate";
    /** Shape field: S. */
    public static final String PCM_SAMPLES = "pcm_samples";

    /** Label column: the class index (int32), null unless the dataset is categorical. */
    public static final String LABEL = "label";
    /** Label column: the dimensional targets (list of float32), null unless the dataset is dimensional. */
    public static final String DIMENSIONS = "dimensions";
    /** Label column: the video's split name (string), nullable. */
    public static final String SPLIT = "split";
    /** Label column: the video's cross-validation fold (int32, from 0), nullable. */
    public static final String FOLD = "fold";

    /**
     * Partition column of both tables: the run that committed the row. Each run's rows live in a directory
     * {@code batch=<run id>} under the dataset root (or under {@link #QUARANTINE_DIR}), so Spark reads the root
     * directly and other readers list it recursively.
     */
    public static final String BATCH = "batch";

    /** Quarantine table column: the video's path relative to the input root. */
    public static final String Q_SOURCE = "source";
    /** Quarantine table column: a quarantine reason label (see dataset-prep's QuarantineReason). */
    public static final String Q_REASON = "reason";
    /** Quarantine table column: a human-readable detail, e.g. FFmpeg's error. */
    public static final String Q_DETAIL = "detail";

    /** The dataset metadata file at the output root. */
    public static final String DATASET_JSON = "_dataset.json";
    /** Key of the label space in {@link #DATASET_JSON}: {@code {"kind": "categorical", "names": [...]}}. */
    public static final String DATASET_LABELS = "labels";
    /** The quarantine table's directory at the output root. */
    public static final String QUARANTINE_DIR = "_quarantine";

    /** T. */
    public static final int FRAMES_PER_CLIP = 16;
    /** Source frames between two sampled frames at the reference rate. */
    public static final int FRAME_STRIDE = 4;
    /** Source frames one window spans at the reference rate: T * stride = 64. */
    public static final int WINDOW_FRAMES = FRAMES_PER_CLIP * FRAME_STRIDE;
    /** The reference frame rate (VoxCeleb2) on which windows and sample times are defined. */
    public static final int REFERENCE_FPS = 25;
    /** Frames are scaled to this square size before the crop. */
    public static final int SCALED_SIZE = 224;
    /** The authors' fixed crop: first row. */
    public static final int CROP_TOP = 0;
    /** The authors' fixed crop: first column. */
    public static final int CROP_LEFT = 32;
    /** H = W: the crop's side. */
    public static final int CROP_SIZE = 160;
    /** C: RGB. */
    public static final int COLOR_CHANNELS = 3;
    /** Audio sample rate in Hz. */
    public static final int AUDIO_SAMPLE_RATE = 16_000;
    /** S: one window of audio, 2.56 s at 16 kHz. */
    public static final int SAMPLES_PER_CLIP = WINDOW_FRAMES * AUDIO_SAMPLE_RATE / REFERENCE_FPS;
    /** Size of {@link #FRAMES}. */
    public static final int FRAME_BYTES = FRAMES_PER_CLIP * CROP_SIZE * CROP_SIZE * COLOR_CHANNELS;
    /** Size of {@link #PCM}. */
    public static final int PCM_BYTES = SAMPLES_PER_CLIP * 2;

    private ClipSchema() {}
}
