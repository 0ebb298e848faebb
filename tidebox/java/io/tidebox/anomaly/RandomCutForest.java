package io.tidebox.anomaly;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A streaming random cut forest that scores exactly as tidebox's Python one does: for the same
 * parameters, seed and rows, every score and attribution is the same double, bit for bit.
 *
 * <p>This is a port of {@code tidebox/anomaly/_kernels.py} (the Numba kernels) and {@code
 * forest.py}, operation for operation and in the same order, so that IEEE arithmetic rounds
 * the same way on both sides. What makes that possible: Java never fuses a multiply and an add
 * (strict semantics since Java 17), nor does Numba without {@code fastmath}; the logarithms are
 * fdlibm's on both sides ({@code StrictMath.log} here, {@code tidebox.anomaly._fdlibm} there),
 * and log2(x) is {@code log(x) / LN2} on both; the random numbers are one splitmix64 stream per
 * tree, with the same seeding. Comparisons keep Python's choice of operand where the two are
 * equal but differ in sign ({@code a > b ? a : b}, Python's {@code max(a, b)} as
 * {@code b > a ? b : a}), so that even the sign of a zero in a bounding box agrees. {@code
 * tests/tidebox/anomaly/test_java_forest.py} checks all of it against the Python forest.
 *
 * <p>The trees live in flat primitive arrays (no objects per node): the node table {@code
 * ints[(tree * nodes + node) * 5 + field]} (LEFT, RIGHT, PARENT, DIM = the cut dimension or -1
 * for a leaf, MASS), the cut values, the bounding boxes {@code lo/hi[(tree * nodes + node) *
 * dimensions + i]} (a leaf's box is its point), a free stack of node slots per tree, and per
 * tree its sample: the points, their weights {@code -t / timeDecay + ln(-ln u)}, and the slot
 * of the heaviest (the next to be evicted). Scoring a row allocates nothing.
 *
 * <p>Score first, then update: {@link #scoreAndUpdate(double[])} gives each row the score the
 * forest had for it before learning it (0 while the shingle fills and for the first
 * subSampleSize points), as Kinesis Analytics' RANDOM_CUT_FOREST does. Not thread-safe: one
 * instance per key.
 */
public final class RandomCutForest {
    /** The double nearest ln 2: log2(x) is {@code StrictMath.log(x) / LN2}, as in Python. */
    public static final double LN2 = 0.6931471805599453;

    private static final int LEFT = 0;
    private static final int RIGHT = 1;
    private static final int PARENT = 2;
    private static final int DIM = 3;
    private static final int MASS = 4;
    private static final int FIELDS = 5;
    private static final int NONE = -1;

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final long GATE_SPAN = 4096;
    private static final double GATE_MARGIN = 1e-9;
    private static final double GATE_SLACK = 0x1.0p-48;

    private static final int LANES = 4; // trees descended side by side (see descend)

    private static final int MAGIC = 0x54425246; // "TBRF"
    private static final byte FORMAT_VERSION = 1;

    private final ForestParams params;
    private final int trees;
    private final int sample;
    private final int nodes;
    private final int dims;
    private final int columns;
    private final int shingleSize;
    private final double decay;

    // the trees
    private final int[] ints;
    private final double[] cut;
    private final double[] lo;
    private final double[] hi;
    private final int[] free;
    private final int[] root;
    private final int[] freeTop;
    private final int[] massTotal;
    // the samples
    private final int[] count;
    private final int[] heaviest;
    private final long[] rng;
    private final double[] weights;
    private final double[] sampled;
    // derived bounds that refuse most draws of a full sample at once (see openGate)
    private final double[] gateLow;
    private final long[] gateUntil;
    // the stream
    private final double[] shingle;
    private long rowsSeen;

    // scratch, so that a row allocates nothing
    private final int[] path; // LANES paths of up to `nodes` nodes each
    private final int[] laneLeaf;
    private final int[] laneDepth;
    private final double[] pointHigh;
    private final double[] pointLow;
    private final double[] treeHigh;
    private final double[] treeLow;
    private final double[] log2OfMassPlusOne;

    /** An empty forest: every tree without points, the random streams seeded from the seed. */
    public RandomCutForest(ForestParams params) {
        this.params = params;
        trees = params.numberOfTrees();
        sample = params.subSampleSize();
        nodes = 2 * sample;
        dims = params.dimensions();
        columns = params.columns();
        shingleSize = params.shingleSize();
        decay = 1.0 / params.timeDecay();
        ints = new int[trees * nodes * FIELDS];
        cut = new double[trees * nodes];
        lo = new double[trees * nodes * dims];
        hi = new double[trees * nodes * dims];
        free = new int[trees * nodes];
        root = new int[trees];
        freeTop = new int[trees];
        massTotal = new int[trees];
        count = new int[trees];
        heaviest = new int[trees];
        rng = new long[trees];
        weights = new double[trees * sample];
        sampled = new double[trees * sample * dims];
        gateLow = new double[trees];
        gateUntil = new long[trees];
        shingle = new double[shingleSize * columns];
        path = new int[LANES * nodes];
        laneLeaf = new int[LANES];
        laneDepth = new int[LANES];
        pointHigh = new double[dims];
        pointLow = new double[dims];
        treeHigh = new double[dims];
        treeLow = new double[dims];
        log2OfMassPlusOne = new double[sample + 1];
        for (int mass = 0; mass <= sample; mass++) {
            log2OfMassPlusOne[mass] = log2(mass + 1.0);
        }
        Arrays.fill(gateLow, -1.0);
        Arrays.fill(gateUntil, -1L);
        resetTrees();
        seedStreams(params.seed());
    }

    public ForestParams params() {
        return params;
    }

    /** Rows given so far, including those that only filled the shingle. */
    public long rowsSeen() {
        return rowsSeen;
    }

    /** log2(x) exactly as the Python forest computes it: fdlibm's log over the double LN2. */
    public static double log2(double x) {
        return StrictMath.log(x) / LN2;
    }

    // -- random numbers: one splitmix64 stream per tree --------------------------------------

    private double nextUniform(int tree) {
        long z = rng[tree] + GOLDEN;
        rng[tree] = z;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }

    private void seedStreams(long seed) {
        long state = seed * 0x2545F4914F6CDD1DL + 1;
        for (int tree = 0; tree < trees; tree++) {
            state += GOLDEN;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            rng[tree] = z ^ (z >>> 31);
        }
    }

    // -- node storage -------------------------------------------------------------------------

    private void resetTrees() {
        for (int tree = 0; tree < trees; tree++) {
            int base = tree * nodes;
            for (int node = 0; node < nodes; node++) {
                free[base + node] = nodes - 1 - node;
                int at = (base + node) * FIELDS;
                ints[at + LEFT] = NONE;
                ints[at + RIGHT] = NONE;
                ints[at + PARENT] = NONE;
                ints[at + DIM] = NONE;
                ints[at + MASS] = 0;
            }
            root[tree] = NONE;
            freeTop[tree] = nodes;
            count[tree] = 0;
            massTotal[tree] = 0;
            heaviest[tree] = 0;
        }
    }

    private int takeNode(int tree) {
        freeTop[tree] -= 1;
        return free[tree * nodes + freeTop[tree]];
    }

    private void giveNode(int tree, int node) {
        int at = (tree * nodes + node) * FIELDS;
        ints[at + LEFT] = NONE;
        ints[at + RIGHT] = NONE;
        ints[at + PARENT] = NONE;
        ints[at + DIM] = NONE;
        ints[at + MASS] = 0;
        free[tree * nodes + freeTop[tree]] = node;
        freeTop[tree] += 1;
    }

    private boolean sameAsLeaf(int tree, int node, double[] point, int offset) {
        int box = (tree * nodes + node) * dims;
        for (int i = 0; i < dims; i++) {
            if (lo[box + i] != point[offset + i]) {
                return false;
            }
        }
        return true;
    }

    private int newLeaf(int tree, double[] point) {
        int leaf = takeNode(tree);
        int box = (tree * nodes + leaf) * dims;
        System.arraycopy(point, 0, lo, box, dims);
        System.arraycopy(point, 0, hi, box, dims);
        int at = (tree * nodes + leaf) * FIELDS;
        ints[at + MASS] = 1;
        ints[at + DIM] = NONE;
        ints[at + LEFT] = NONE;
        ints[at + RIGHT] = NONE;
        return leaf;
    }

    // -- insert -------------------------------------------------------------------------------

    /** Add a point to one tree: descend, and split where a random cut separates the point. */
    private void insertPoint(int tree, double[] point) {
        int base = tree * nodes;
        massTotal[tree] += 1;
        int node = root[tree];
        if (node == NONE) {
            int leaf = newLeaf(tree, point);
            ints[(base + leaf) * FIELDS + PARENT] = NONE;
            root[tree] = leaf;
            return;
        }
        while (true) {
            int at = (base + node) * FIELDS;
            int box = (base + node) * dims;
            double total = 0.0;
            for (int i = 0; i < dims; i++) {
                double top = hi[box + i] > point[i] ? hi[box + i] : point[i];
                double bottom = lo[box + i] < point[i] ? lo[box + i] : point[i];
                total += top - bottom;
            }
            if (total <= 0.0) { // the point equals this leaf's point
                ints[at + MASS] += 1;
                return;
            }
            // draw the cut on the merged box; top and bottom end as the last dimension looked
            // at, exactly as in Python (even when no break happened)
            double target = nextUniform(tree) * total;
            int dim = -1;
            double top = 0.0;
            double bottom = 0.0;
            for (int i = 0; i < dims; i++) {
                top = hi[box + i] > point[i] ? hi[box + i] : point[i];
                bottom = lo[box + i] < point[i] ? lo[box + i] : point[i];
                double span = top - bottom;
                if (span <= 0.0) {
                    continue;
                }
                dim = i;
                if (target < span) {
                    break;
                }
                target -= span;
            }
            double value = bottom + nextUniform(tree) * (top - bottom);
            if (value >= top) { // rounding can land on the upper edge, which separates nothing
                value = Math.nextDown(top);
            }
            if (value < bottom) {
                value = bottom;
            }
            boolean separatesLow = point[dim] <= value && lo[box + dim] > value;
            boolean separatesHigh = point[dim] > value && hi[box + dim] <= value;
            boolean isLeaf = ints[at + DIM] == NONE;
            if (separatesLow || separatesHigh || isLeaf) {
                if (!(separatesLow || separatesHigh)) {
                    // a leaf with a distinct point is always separable; only rounding gets here
                    separatesLow = point[dim] <= lo[box + dim];
                    value = separatesLow ? point[dim] : lo[box + dim];
                }
                int leaf = newLeaf(tree, point);
                int inner = takeNode(tree);
                int parent = ints[at + PARENT];
                int innerAt = (base + inner) * FIELDS;
                int innerBox = (base + inner) * dims;
                ints[innerAt + DIM] = dim;
                cut[base + inner] = value;
                ints[innerAt + MASS] = ints[at + MASS] + 1;
                for (int i = 0; i < dims; i++) {
                    lo[innerBox + i] = lo[box + i] < point[i] ? lo[box + i] : point[i];
                    hi[innerBox + i] = hi[box + i] > point[i] ? hi[box + i] : point[i];
                }
                if (separatesLow) {
                    ints[innerAt + LEFT] = leaf;
                    ints[innerAt + RIGHT] = node;
                } else {
                    ints[innerAt + LEFT] = node;
                    ints[innerAt + RIGHT] = leaf;
                }
                ints[(base + leaf) * FIELDS + PARENT] = inner;
                ints[at + PARENT] = inner;
                ints[innerAt + PARENT] = parent;
                if (parent == NONE) {
                    root[tree] = inner;
                } else if (ints[(base + parent) * FIELDS + LEFT] == node) {
                    ints[(base + parent) * FIELDS + LEFT] = inner;
                } else {
                    ints[(base + parent) * FIELDS + RIGHT] = inner;
                }
                return;
            }
            // no separation: grow this node and follow its own cut
            ints[at + MASS] += 1;
            for (int i = 0; i < dims; i++) {
                if (point[i] < lo[box + i]) {
                    lo[box + i] = point[i];
                }
                if (point[i] > hi[box + i]) {
                    hi[box + i] = point[i];
                }
            }
            node = point[ints[at + DIM]] <= cut[base + node] ? ints[at + LEFT] : ints[at + RIGHT];
        }
    }

    // -- delete -------------------------------------------------------------------------------

    /** Remove one copy of {@code point[offset..]} from a tree; false if the tree lacks it. */
    private boolean deletePoint(int tree, double[] point, int offset) {
        int base = tree * nodes;
        int node = root[tree];
        if (node == NONE) {
            return false;
        }
        while (ints[(base + node) * FIELDS + DIM] != NONE) {
            int at = (base + node) * FIELDS;
            node = point[offset + ints[at + DIM]] <= cut[base + node]
                    ? ints[at + LEFT]
                    : ints[at + RIGHT];
        }
        if (!sameAsLeaf(tree, node, point, offset)) {
            return false;
        }
        massTotal[tree] -= 1;
        int at = (base + node) * FIELDS;
        ints[at + MASS] -= 1;
        if (ints[at + MASS] > 0) { // a duplicate stays; only masses shrink
            int up = ints[at + PARENT];
            while (up != NONE) {
                ints[(base + up) * FIELDS + MASS] -= 1;
                up = ints[(base + up) * FIELDS + PARENT];
            }
            return true;
        }
        int parent = ints[at + PARENT];
        if (parent == NONE) {
            root[tree] = NONE;
            giveNode(tree, node);
            return true;
        }
        int parentAt = (base + parent) * FIELDS;
        int sibling = ints[parentAt + LEFT];
        if (sibling == node) {
            sibling = ints[parentAt + RIGHT];
        }
        int grand = ints[parentAt + PARENT];
        ints[(base + sibling) * FIELDS + PARENT] = grand;
        if (grand == NONE) {
            root[tree] = sibling;
        } else if (ints[(base + grand) * FIELDS + LEFT] == parent) {
            ints[(base + grand) * FIELDS + LEFT] = sibling;
        } else {
            ints[(base + grand) * FIELDS + RIGHT] = sibling;
        }
        giveNode(tree, node);
        giveNode(tree, parent);
        int up = grand;
        while (up != NONE) { // masses shrink and boxes tighten along the way up
            int upAt = (base + up) * FIELDS;
            ints[upAt + MASS] -= 1;
            unionOfChildren(tree, up);
            up = ints[upAt + PARENT];
        }
        return true;
    }

    /** A node's box as the union of its children's, with Python's min/max operand choice. */
    private void unionOfChildren(int tree, int node) {
        int base = tree * nodes;
        int at = (base + node) * FIELDS;
        int box = (base + node) * dims;
        int a = (base + ints[at + LEFT]) * dims;
        int b = (base + ints[at + RIGHT]) * dims;
        for (int i = 0; i < dims; i++) {
            lo[box + i] = lo[b + i] < lo[a + i] ? lo[b + i] : lo[a + i]; // min(a, b)
            hi[box + i] = hi[b + i] > hi[a + i] ? hi[b + i] : hi[a + i]; // max(a, b)
        }
    }

    // -- scoring ------------------------------------------------------------------------------

    /**
     * Descend trees {@code first} to {@code first + lanes - 1} to the leaves
     * the point reaches, recording each one's path: a level of every tree at a time, so that
     * the memory reads of different trees overlap instead of waiting for each other (a
     * descent is a chain of dependent reads, and the trees do not fit in the CPU's caches).
     */
    private void descend(int first, int lanes, double[] point) {
        for (int lane = 0; lane < lanes; lane++) {
            laneLeaf[lane] = root[first + lane];
            laneDepth[lane] = 0;
        }
        boolean moving = true;
        while (moving) {
            moving = false;
            for (int lane = 0; lane < lanes; lane++) {
                int base = (first + lane) * nodes;
                int node = laneLeaf[lane];
                if (node == NONE) { // an empty tree
                    continue;
                }
                int at = (base + node) * FIELDS;
                int dim = ints[at + DIM];
                if (dim == NONE) {
                    continue;
                }
                path[lane * nodes + laneDepth[lane]] = node;
                laneDepth[lane] += 1;
                laneLeaf[lane] = point[dim] <= cut[base + node] ? ints[at + LEFT] : ints[at + RIGHT];
                moving = true;
            }
        }
    }

    /**
     * Amazon's expected-inverse-depth score of a point in one tree (not yet normalised), from
     * the leaf and path {@link #descend} found in {@code lane}; with {@code attribute},
     * treeHigh/treeLow receive each dimension's share of it.
     */
    private double scoreTree(int tree, int lane, double[] point, boolean attribute) {
        int base = tree * nodes;
        int node = laneLeaf[lane];
        int depth = laneDepth[lane];
        int pathBase = lane * nodes;
        int mass = ints[(base + node) * FIELDS + MASS];
        if (sameAsLeaf(tree, node, point, 0)) {
            double score =
                    (1.0 - mass / (2.0 * massTotal[tree])) / (depth + log2OfMassPlusOne[mass]);
            if (attribute) {
                for (int i = 0; i < dims; i++) {
                    treeHigh[i] = score / (2 * dims);
                    treeLow[i] = score / (2 * dims);
                }
            }
            return score;
        }
        double score = 1.0 / (depth + 1.0);
        if (attribute) {
            splitByGap(tree, node, point, score, true);
        }
        for (int level = depth - 1; level >= 0; level--) {
            node = path[pathBase + level];
            int box = (base + node) * dims;
            double grown = 0.0;
            double spread = 0.0;
            for (int i = 0; i < dims; i++) {
                double top = hi[box + i];
                double bottom = lo[box + i];
                double old = top - bottom;
                if (point[i] > top) {
                    top = point[i];
                } else if (point[i] < bottom) {
                    bottom = point[i];
                }
                spread += top - bottom;
                grown += (top - bottom) - old;
            }
            if (grown <= 0.0 || spread <= 0.0) {
                break; // inside this box, hence inside every ancestor's
            }
            double probability = grown / spread;
            double unseen = 1.0 / (level + 1.0);
            score = probability * unseen + (1.0 - probability) * score;
            if (attribute) {
                for (int i = 0; i < dims; i++) {
                    treeHigh[i] = (1.0 - probability) * treeHigh[i];
                    treeLow[i] = (1.0 - probability) * treeLow[i];
                }
                splitByGap(tree, node, point, unseen, false);
            }
        }
        return score;
    }

    /** Share {@code amount} among dimensions by how far the point sticks out of the box. */
    private void splitByGap(int tree, int node, double[] point, double amount, boolean assign) {
        int box = (tree * nodes + node) * dims;
        double spread = 0.0;
        for (int i = 0; i < dims; i++) {
            double top = hi[box + i] > point[i] ? hi[box + i] : point[i];
            double bottom = lo[box + i] < point[i] ? lo[box + i] : point[i];
            spread += top - bottom;
        }
        for (int i = 0; i < dims; i++) {
            double above = point[i] > hi[box + i] ? point[i] - hi[box + i] : 0.0;
            double below = point[i] < lo[box + i] ? lo[box + i] - point[i] : 0.0;
            double shareHigh = spread > 0.0 ? amount * above / spread : 0.0;
            double shareLow = spread > 0.0 ? amount * below / spread : 0.0;
            if (assign) {
                treeHigh[i] = shareHigh;
                treeLow[i] = shareLow;
            } else {
                treeHigh[i] += shareHigh;
                treeLow[i] += shareLow;
            }
        }
    }

    /** The forest's score: the mean over trees of the tree score times log2(tree mass + 1). */
    private double scorePoint(double[] point, boolean attribute) {
        double total = 0.0;
        int used = 0;
        if (attribute) {
            Arrays.fill(pointHigh, 0.0);
            Arrays.fill(pointLow, 0.0);
        }
        for (int first = 0; first < trees; first += LANES) {
            int lanes = Math.min(LANES, trees - first);
            descend(first, lanes, point);
            for (int lane = 0; lane < lanes; lane++) { // in tree order, as Python sums
                int tree = first + lane;
                if (root[tree] == NONE) {
                    continue;
                }
                double scale = log2OfMassPlusOne[massTotal[tree]];
                total += scale * scoreTree(tree, lane, point, attribute);
                used += 1;
                if (attribute) {
                    for (int i = 0; i < dims; i++) {
                        pointHigh[i] += scale * treeHigh[i];
                        pointLow[i] += scale * treeLow[i];
                    }
                }
            }
        }
        if (used == 0) {
            return 0.0;
        }
        if (attribute) {
            for (int i = 0; i < dims; i++) {
                pointHigh[i] /= used;
                pointLow[i] /= used;
            }
        }
        return total / used;
    }

    // -- sampling -----------------------------------------------------------------------------

    /**
     * Bound, for the next GATE_SPAN sequence numbers, the draws a full sample cannot accept.
     * The bound is conservative with margins far above rounding (see {@code _open_gate} in
     * {@code _kernels.py}), so it never changes an outcome: which exp computes it does not
     * matter for exactness.
     */
    private void openGate(int tree, double heaviestWeight, long sequence) {
        long last = sequence + GATE_SPAN;
        double reach = decay * last;
        double bound =
                heaviestWeight + reach + GATE_SLACK * (Math.abs(heaviestWeight) + reach + 1.0);
        double low = StrictMath.exp(-StrictMath.exp(bound));
        gateLow[tree] = low * (1.0 - GATE_MARGIN);
        gateUntil[tree] = last;
    }

    /** Offer a point to one tree's reservoir; insert it if taken, deleting the evicted one. */
    private void updateTree(int tree, double[] point, long sequence) {
        double u = nextUniform(tree);
        while (u <= 0.0) {
            u = nextUniform(tree);
        }
        int held = count[tree];
        int heaviestSlot = heaviest[tree];
        int weightBase = tree * sample;
        if (held >= sample) {
            if (sequence >= gateUntil[tree]) {
                openGate(tree, weights[weightBase + heaviestSlot], sequence);
            }
            if (u < gateLow[tree]) {
                return; // refused for sure: the common case once the sample is full
            }
        }
        double weight = -decay * sequence + StrictMath.log(-StrictMath.log(u));
        int slot;
        if (held < sample) {
            slot = held;
            count[tree] = held + 1;
            weights[weightBase + slot] = weight;
            if (held == 0 || weight > weights[weightBase + heaviestSlot]) {
                heaviest[tree] = slot;
            }
        } else {
            if (weight >= weights[weightBase + heaviestSlot]) {
                return;
            }
            slot = heaviestSlot;
            deletePoint(tree, sampled, (weightBase + slot) * dims);
            weights[weightBase + slot] = weight;
            int next = 0;
            for (int j = 1; j < sample; j++) {
                if (weights[weightBase + j] > weights[weightBase + next]) {
                    next = j;
                }
            }
            heaviest[tree] = next;
            gateUntil[tree] = -1L; // the heaviest weight changed: the bounds must be redrawn
        }
        System.arraycopy(point, 0, sampled, (weightBase + slot) * dims, dims);
        insertPoint(tree, point);
    }

    // -- the streaming API --------------------------------------------------------------------

    /** The score of one row before the forest learns it; then learn it. */
    public double scoreAndUpdate(double[] row) {
        return step(row, null, null);
    }

    /**
     * As {@link #scoreAndUpdate(double[])}, and fill {@code high}/{@code low} (one value per
     * column) with each column's share of the score, summed over the shingle positions: the
     * part from the point lying above, respectively below, what the trees hold.
     */
    public double scoreAndUpdate(double[] row, double[] high, double[] low) {
        if (high == null || low == null || high.length < columns || low.length < columns) {
            throw new IllegalArgumentException(
                    "high and low must hold " + columns + " value(s) each");
        }
        return step(row, high, low);
    }

    private double step(double[] row, double[] high, double[] low) {
        checkRow(row);
        boolean attribute = high != null;
        long before = rowsSeen;
        System.arraycopy(shingle, columns, shingle, 0, (shingleSize - 1) * columns);
        System.arraycopy(row, 0, shingle, (shingleSize - 1) * columns, columns);
        rowsSeen += 1;
        if (attribute) {
            Arrays.fill(high, 0, columns, 0.0);
            Arrays.fill(low, 0, columns, 0.0);
        }
        if (before < shingleSize - 1) {
            return 0.0; // the row only fills the shingle
        }
        long sequence = before - (shingleSize - 1);
        double[] point = shingle; // the shingled point: the last shingleSize rows, oldest first
        double score = 0.0;
        if (sequence >= sample) {
            score = scorePoint(point, attribute);
            if (attribute) {
                for (int c = 0; c < columns; c++) { // oldest position first, as Python sums
                    double up = pointHigh[c];
                    double down = pointLow[c];
                    for (int position = 1; position < shingleSize; position++) {
                        up += pointHigh[position * columns + c];
                        down += pointLow[position * columns + c];
                    }
                    high[c] = up;
                    low[c] = down;
                }
            }
        }
        for (int tree = 0; tree < trees; tree++) {
            updateTree(tree, point, sequence);
        }
        return score;
    }

    private void checkRow(double[] row) {
        if (row == null || row.length != columns) {
            throw new IllegalArgumentException(
                    "expected rows of " + columns + " value(s), got "
                            + (row == null ? "none" : row.length));
        }
        for (double value : row) {
            if (!Double.isFinite(value)) {
                throw new IllegalArgumentException(
                        "row holds NaN or infinity: " + Arrays.toString(row));
            }
        }
    }

    // -- state --------------------------------------------------------------------------------

    /**
     * The whole state, exactly: {@link #fromBytes} continues the stream bit for bit.
     *
     * <p>Format (big-endian): magic "TBRF", version byte, the parameters, rows seen, the
     * shingle; then per tree its random stream, sample size, heaviest slot, the weights and
     * points of its sample, and the tree in pre-order, a node per record: a short tag (0 for a
     * leaf, else the cut dimension + 1), then a cut (double) for an internal node, or the mass
     * and a sample slot holding the leaf's point (two shorts) for a leaf. Boxes, masses of
     * internal nodes and node slot numbers are rebuilt on restore (a box is exactly the union
     * of its children's; slot numbers do not enter any result); the sampling gate is derived.
     */
    public byte[] toBytes() {
        int size = 4 + 1 + 5 * 4 + 8 + 8 + shingle.length * 8;
        for (int tree = 0; tree < trees; tree++) {
            int used = nodes - freeTop[tree];
            int leaves = (used + 1) / 2;
            size += 8 + 2 + 2 + count[tree] * 8 * (1 + dims);
            size += leaves * 6 + (used - leaves) * 10;
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        out.putInt(MAGIC).put(FORMAT_VERSION);
        out.putInt(trees).putInt(sample).putInt(params.timeDecay()).putInt(shingleSize);
        out.putInt(columns).putLong(params.seed());
        out.putLong(rowsSeen);
        for (double value : shingle) {
            out.putDouble(value);
        }
        int[] slotOfLeaf = new int[nodes];
        int[] stack = new int[nodes];
        for (int tree = 0; tree < trees; tree++) {
            int weightBase = tree * sample;
            out.putLong(rng[tree]).putShort((short) count[tree]).putShort((short) heaviest[tree]);
            for (int j = 0; j < count[tree]; j++) {
                out.putDouble(weights[weightBase + j]);
            }
            for (int j = 0; j < count[tree] * dims; j++) {
                out.putDouble(sampled[weightBase * dims + j]);
            }
            if (root[tree] == NONE) {
                continue;
            }
            findLeafSlots(tree, slotOfLeaf);
            int base = tree * nodes;
            int top = 0;
            stack[top++] = root[tree];
            while (top > 0) { // pre-order: a node, then its left subtree, then its right
                int node = stack[--top];
                int at = (base + node) * FIELDS;
                if (ints[at + DIM] == NONE) {
                    out.putShort((short) 0);
                    out.putShort((short) ints[at + MASS]).putShort((short) slotOfLeaf[node]);
                } else {
                    out.putShort((short) (ints[at + DIM] + 1)).putDouble(cut[base + node]);
                    stack[top++] = ints[at + RIGHT];
                    stack[top++] = ints[at + LEFT];
                }
            }
        }
        if (out.hasRemaining()) {
            throw new IllegalStateException("forest state size miscounted");
        }
        return out.array();
    }

    /** For every leaf of a tree, a sample slot holding its point. */
    private void findLeafSlots(int tree, int[] slotOfLeaf) {
        int base = tree * nodes;
        for (int j = 0; j < count[tree]; j++) {
            int offset = (tree * sample + j) * dims;
            int node = root[tree];
            while (ints[(base + node) * FIELDS + DIM] != NONE) {
                int at = (base + node) * FIELDS;
                node = sampled[offset + ints[at + DIM]] <= cut[base + node]
                        ? ints[at + LEFT]
                        : ints[at + RIGHT];
            }
            slotOfLeaf[node] = j;
        }
    }

    /**
     * A forest restored from {@link #toBytes()}.
     *
     * @throws IllegalArgumentException if the bytes are not a saved forest of this format
     */
    public static RandomCutForest fromBytes(byte[] data) {
        try {
            return read(ByteBuffer.wrap(data));
        } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IllegalArgumentException("not a saved forest: truncated or corrupt", e);
        }
    }

    private static RandomCutForest read(ByteBuffer in) {
        if (in.remaining() < 5 || in.getInt() != MAGIC) {
            throw new IllegalArgumentException("not a saved forest: wrong magic number");
        }
        byte version = in.get();
        if (version != FORMAT_VERSION) {
            throw new IllegalArgumentException(
                    "saved forest has format " + version + ", not " + FORMAT_VERSION);
        }
        int trees = in.getInt();
        int sample = in.getInt();
        int timeDecay = in.getInt();
        int shingleSize = in.getInt();
        int columns = in.getInt();
        long seed = in.getLong();
        RandomCutForest forest = new RandomCutForest(
                new ForestParams(trees, sample, timeDecay, shingleSize, columns, seed));
        forest.rowsSeen = in.getLong();
        for (int i = 0; i < forest.shingle.length; i++) {
            forest.shingle[i] = in.getDouble();
        }
        for (int tree = 0; tree < trees; tree++) {
            forest.readTree(tree, in);
        }
        if (in.hasRemaining()) {
            throw new IllegalArgumentException("not a saved forest: trailing bytes");
        }
        return forest;
    }

    private void readTree(int tree, ByteBuffer in) {
        rng[tree] = in.getLong();
        int held = in.getShort();
        int heaviestSlot = in.getShort();
        if (held < 0 || held > sample || heaviestSlot < 0 || heaviestSlot >= sample) {
            throw new IllegalArgumentException("not a saved forest: bad sample of tree " + tree);
        }
        count[tree] = held;
        heaviest[tree] = heaviestSlot;
        int weightBase = tree * sample;
        for (int j = 0; j < held; j++) {
            weights[weightBase + j] = in.getDouble();
        }
        for (int j = 0; j < held * dims; j++) {
            sampled[weightBase * dims + j] = in.getDouble();
        }
        if (held == 0) {
            return;
        }
        // nodes are taken in pre-order (slots 0, 1, 2, ...), so a child's slot is above its
        // parent's: walking the slots downwards meets children before their parents
        int base = tree * nodes;
        int[] stack = path; // scratch: at most one open node per level
        int top = 0;
        int used = 0;
        do {
            int node = takeNode(tree);
            used += 1;
            int at = (base + node) * FIELDS;
            int parent = top == 0 ? NONE : stack[top - 1];
            if (parent == NONE) {
                if (root[tree] != NONE) {
                    throw new IllegalArgumentException("not a saved forest: bad tree " + tree);
                }
                root[tree] = node;
            } else if (ints[(base + parent) * FIELDS + LEFT] == NONE) {
                ints[(base + parent) * FIELDS + LEFT] = node;
            } else {
                ints[(base + parent) * FIELDS + RIGHT] = node;
                top -= 1;
            }
            ints[at + PARENT] = parent;
            int tag = in.getShort();
            if (tag == 0) {
                int mass = in.getShort();
                int slot = in.getShort();
                if (mass < 1 || slot < 0 || slot >= held) {
                    throw new IllegalArgumentException("not a saved forest: bad leaf");
                }
                ints[at + MASS] = mass;
                int box = (base + node) * dims;
                System.arraycopy(sampled, (weightBase + slot) * dims, lo, box, dims);
                System.arraycopy(sampled, (weightBase + slot) * dims, hi, box, dims);
            } else {
                if (tag < 1 || tag > dims || used >= nodes) {
                    throw new IllegalArgumentException("not a saved forest: bad node");
                }
                ints[at + DIM] = tag - 1;
                cut[base + node] = in.getDouble();
                stack[top++] = node;
            }
        } while (top > 0);
        for (int node = used - 1; node >= 0; node--) {
            int at = (base + node) * FIELDS;
            if (ints[at + DIM] != NONE) {
                ints[at + MASS] = ints[(base + ints[at + LEFT]) * FIELDS + MASS]
                        + ints[(base + ints[at + RIGHT]) * FIELDS + MASS];
                unionOfChildren(tree, node);
            }
        }
        massTotal[tree] = ints[(base + root[tree]) * FIELDS + MASS];
        if (massTotal[tree] != held) {
            throw new IllegalArgumentException("not a saved forest: tree " + tree
                    + " holds " + massTotal[tree] + " points, its sample " + held);
        }
    }
}
