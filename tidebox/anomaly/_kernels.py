"""Compiled kernels of the random cut forest (Numba): tree insert, delete, score, attribution.

Every tree lives in flat arrays indexed ``[tree, node]`` so that a whole forest is a handful
of NumPy arrays: easy to compile, to copy and to serialise exactly.

Node layout (``ints[tree, node, field]``): LEFT, RIGHT, PARENT, DIM (the cut dimension, -1 for
a leaf), MASS. ``cut[tree, node]`` is the cut value; ``lo``/``hi[tree, node, :]`` the bounding
box (a leaf's box is its point). A point ``x`` goes left at a node when ``x[dim] <= cut``.

Per tree (``meta[tree, field]``): ROOT, FREE (free-stack height), COUNT (sampled points),
MASS_TOTAL, HEAVIEST (the sample slot of largest weight, the next to be evicted). The free
stack ``free[tree, :]`` holds unused node slots.

The sampler keeps, per tree, the ``sample_size`` points of smallest weight
``-lambda * t + ln(-ln u)`` (time-decayed weighted reservoir sampling): a new point enters when
its weight is below the largest weight held, which it then evicts.

Every floating-point result here is meant to be reproducible bit for bit by the Java port
(``tidebox/java/io/tidebox/anomaly/RandomCutForest.java``): plain IEEE operations in a fixed
order (Numba fuses no multiply-adds without ``fastmath``), and the logarithms that reach a
result (the sampler's weight, the scores' log2) from ``_fdlibm``, which Java's
``StrictMath.log`` matches, instead of the C library's. A change here needs the same change
there; ``tests/tidebox/anomaly/test_java_forest.py`` compares the two.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tidebox.anomaly._fdlibm import log, log2

LEFT, RIGHT, PARENT, DIM, MASS = 0, 1, 2, 3, 4
ROOT, FREE, COUNT, MASS_TOTAL, HEAVIEST = 0, 1, 2, 3, 4
NONE = -1


# -- random numbers: one splitmix64 stream per tree, so every tree is reproducible on its own --
@njit(cache=True, inline="always")
def _next_uniform(rng: np.ndarray, tree: int) -> float:
    """A uniform double in [0, 1) from the tree's own stream."""
    z = (rng[tree] + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    rng[tree] = z
    z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def seed_streams(rng: np.ndarray, seed: int) -> None:
    """Derive one independent stream per tree from the forest's seed."""
    state = np.uint64(seed) * np.uint64(0x2545F4914F6CDD1D) + np.uint64(1)
    for tree in range(rng.shape[0]):
        state = (state + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
        z = state
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(
            0xFFFFFFFFFFFFFFFF
        )
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & np.uint64(
            0xFFFFFFFFFFFFFFFF
        )
        rng[tree] = z ^ (z >> np.uint64(31))


# -- node storage ------------------------------------------------------------------------------
@njit(cache=True)
def reset_trees(ints: np.ndarray, meta: np.ndarray, free: np.ndarray) -> None:
    """Empty every tree: all node slots free, no root, no points."""
    trees, nodes = free.shape
    for tree in range(trees):
        for node in range(nodes):
            free[tree, node] = nodes - 1 - node
            for field in range(5):
                ints[tree, node, field] = NONE
            ints[tree, node, MASS] = 0
        meta[tree, ROOT] = NONE
        meta[tree, FREE] = nodes
        meta[tree, COUNT] = 0
        meta[tree, MASS_TOTAL] = 0
        meta[tree, HEAVIEST] = 0


@njit(cache=True, inline="always")
def _take_node(meta: np.ndarray, free: np.ndarray, tree: int) -> int:
    meta[tree, FREE] -= 1
    return free[tree, meta[tree, FREE]]


@njit(cache=True, inline="always")
def _give_node(ints: np.ndarray, meta: np.ndarray, free: np.ndarray, tree: int, node: int) -> None:
    ints[tree, node, LEFT] = NONE
    ints[tree, node, RIGHT] = NONE
    ints[tree, node, PARENT] = NONE
    ints[tree, node, DIM] = NONE
    ints[tree, node, MASS] = 0
    free[tree, meta[tree, FREE]] = node
    meta[tree, FREE] += 1


@njit(cache=True, inline="always")
def _same_point(lo: np.ndarray, tree: int, node: int, point: np.ndarray) -> bool:
    for i in range(point.shape[0]):  # noqa: SIM110 (Numba compiles loops, not generators)
        if lo[tree, node, i] != point[i]:
            return False
    return True


@njit(cache=True)
def _new_leaf(
    ints: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    meta: np.ndarray,
    free: np.ndarray,
    tree: int,
    point: np.ndarray,
) -> int:
    leaf = _take_node(meta, free, tree)
    for i in range(point.shape[0]):
        lo[tree, leaf, i] = point[i]
        hi[tree, leaf, i] = point[i]
    ints[tree, leaf, MASS] = 1
    ints[tree, leaf, DIM] = NONE
    ints[tree, leaf, LEFT] = NONE
    ints[tree, leaf, RIGHT] = NONE
    return leaf


# -- insert ------------------------------------------------------------------------------------
@njit(cache=True)
def insert_point(
    ints: np.ndarray,
    cut: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    meta: np.ndarray,
    free: np.ndarray,
    rng: np.ndarray,
    tree: int,
    point: np.ndarray,
) -> None:
    """Add a point to one tree: descend, and split where a random cut separates the point.

    At each node a cut is drawn on the node's box grown to hold the point (dimension with
    probability proportional to its range, value uniform in that range). If it separates the
    point from the box, a new internal node takes this node's place with the new leaf and
    the old subtree as children; otherwise the box grows, the mass grows, and the descent
    follows the node's own cut. An equal point at a leaf only adds mass.
    """
    dims = point.shape[0]
    meta[tree, MASS_TOTAL] += 1
    node = meta[tree, ROOT]
    if node == NONE:
        leaf = _new_leaf(ints, lo, hi, meta, free, tree, point)
        ints[tree, leaf, PARENT] = NONE
        meta[tree, ROOT] = leaf
        return
    while True:
        total = 0.0
        for i in range(dims):
            top = hi[tree, node, i] if hi[tree, node, i] > point[i] else point[i]
            bottom = lo[tree, node, i] if lo[tree, node, i] < point[i] else point[i]
            total += top - bottom
        if total <= 0.0:  # the point equals this leaf's point
            ints[tree, node, MASS] += 1
            return
        # draw the cut on the merged box
        target = _next_uniform(rng, tree) * total
        dim = -1
        top = 0.0
        bottom = 0.0
        for i in range(dims):
            top = hi[tree, node, i] if hi[tree, node, i] > point[i] else point[i]
            bottom = lo[tree, node, i] if lo[tree, node, i] < point[i] else point[i]
            span = top - bottom
            if span <= 0.0:
                continue
            dim = i
            if target < span:
                break
            target -= span
        value = bottom + _next_uniform(rng, tree) * (top - bottom)
        if value >= top:  # rounding can land on the upper edge, which separates nothing
            value = np.nextafter(top, -np.inf)
        if value < bottom:
            value = bottom
        separates_low = point[dim] <= value and lo[tree, node, dim] > value
        separates_high = point[dim] > value and hi[tree, node, dim] <= value
        is_leaf = ints[tree, node, DIM] == NONE
        if separates_low or separates_high or is_leaf:
            if not (separates_low or separates_high):
                # a leaf with a distinct point is always separable; only rounding gets here
                separates_low = point[dim] <= lo[tree, node, dim]
                value = point[dim] if separates_low else lo[tree, node, dim]
            leaf = _new_leaf(ints, lo, hi, meta, free, tree, point)
            inner = _take_node(meta, free, tree)
            parent = ints[tree, node, PARENT]
            ints[tree, inner, DIM] = dim
            cut[tree, inner] = value
            ints[tree, inner, MASS] = ints[tree, node, MASS] + 1
            for i in range(dims):
                lo[tree, inner, i] = lo[tree, node, i] if lo[tree, node, i] < point[i] else point[i]
                hi[tree, inner, i] = hi[tree, node, i] if hi[tree, node, i] > point[i] else point[i]
            if separates_low:
                ints[tree, inner, LEFT] = leaf
                ints[tree, inner, RIGHT] = node
            else:
                ints[tree, inner, LEFT] = node
                ints[tree, inner, RIGHT] = leaf
            ints[tree, leaf, PARENT] = inner
            ints[tree, node, PARENT] = inner
            ints[tree, inner, PARENT] = parent
            if parent == NONE:
                meta[tree, ROOT] = inner
            elif ints[tree, parent, LEFT] == node:
                ints[tree, parent, LEFT] = inner
            else:
                ints[tree, parent, RIGHT] = inner
            return
        # no separation: grow this node and follow its own cut
        ints[tree, node, MASS] += 1
        for i in range(dims):
            if point[i] < lo[tree, node, i]:
                lo[tree, node, i] = point[i]
            if point[i] > hi[tree, node, i]:
                hi[tree, node, i] = point[i]
        if point[ints[tree, node, DIM]] <= cut[tree, node]:
            node = ints[tree, node, LEFT]
        else:
            node = ints[tree, node, RIGHT]


# -- delete ------------------------------------------------------------------------------------
@njit(cache=True)
def delete_point(
    ints: np.ndarray,
    cut: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    meta: np.ndarray,
    free: np.ndarray,
    tree: int,
    point: np.ndarray,
) -> bool:
    """Remove one copy of a point from a tree; False if the tree does not hold it."""
    dims = point.shape[0]
    node = meta[tree, ROOT]
    if node == NONE:
        return False
    while ints[tree, node, DIM] != NONE:
        if point[ints[tree, node, DIM]] <= cut[tree, node]:
            node = ints[tree, node, LEFT]
        else:
            node = ints[tree, node, RIGHT]
    if not _same_point(lo, tree, node, point):
        return False
    meta[tree, MASS_TOTAL] -= 1
    ints[tree, node, MASS] -= 1
    if ints[tree, node, MASS] > 0:  # a duplicate stays; only masses shrink
        up = ints[tree, node, PARENT]
        while up != NONE:
            ints[tree, up, MASS] -= 1
            up = ints[tree, up, PARENT]
        return True
    parent = ints[tree, node, PARENT]
    if parent == NONE:
        meta[tree, ROOT] = NONE
        _give_node(ints, meta, free, tree, node)
        return True
    sibling = ints[tree, parent, LEFT]
    if sibling == node:
        sibling = ints[tree, parent, RIGHT]
    grand = ints[tree, parent, PARENT]
    ints[tree, sibling, PARENT] = grand
    if grand == NONE:
        meta[tree, ROOT] = sibling
    elif ints[tree, grand, LEFT] == parent:
        ints[tree, grand, LEFT] = sibling
    else:
        ints[tree, grand, RIGHT] = sibling
    _give_node(ints, meta, free, tree, node)
    _give_node(ints, meta, free, tree, parent)
    up = grand
    while up != NONE:  # masses shrink and boxes tighten along the way up
        ints[tree, up, MASS] -= 1
        a = ints[tree, up, LEFT]
        b = ints[tree, up, RIGHT]
        for i in range(dims):
            lo[tree, up, i] = min(lo[tree, a, i], lo[tree, b, i])
            hi[tree, up, i] = max(hi[tree, a, i], hi[tree, b, i])
        up = ints[tree, up, PARENT]
    return True


# -- scoring -----------------------------------------------------------------------------------
@njit(cache=True)
def score_tree(
    ints: np.ndarray,
    cut: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    meta: np.ndarray,
    tree: int,
    point: np.ndarray,
    path: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    attribute: bool,
) -> float:
    """Amazon's expected-inverse-depth score of a point in one tree (not yet normalised).

    Descend to the leaf the point would reach. A leaf equal to the point scores
    ``(1 - m / 2n) / (d + log2(m + 1))``, another leaf ``1 / (d + 1)``. Going back up, each
    node blends in ``1 / (d + 1)`` with the probability that a random cut on its box grown to
    hold the point separates the point; once the point lies inside a box, no ancestor
    changes the score. With ``attribute``, ``high``/``low`` receive each dimension's share
    of the score (summing to it), split by the side on which the point sticks out.
    """
    dims = point.shape[0]
    node = meta[tree, ROOT]
    depth = 0
    while ints[tree, node, DIM] != NONE:
        path[depth] = node
        depth += 1
        if point[ints[tree, node, DIM]] <= cut[tree, node]:
            node = ints[tree, node, LEFT]
        else:
            node = ints[tree, node, RIGHT]
    mass = ints[tree, node, MASS]
    total_mass = meta[tree, MASS_TOTAL]
    inside = _same_point(lo, tree, node, point)
    if inside:
        score = (1.0 - mass / (2.0 * total_mass)) / (depth + log2(mass + 1.0))
        if attribute:
            for i in range(dims):
                high[i] = score / (2 * dims)
                low[i] = score / (2 * dims)
        return score
    score = 1.0 / (depth + 1.0)
    if attribute:
        _split_by_gap(lo, hi, tree, node, point, score, high, low, True)
    for level in range(depth - 1, -1, -1):
        node = path[level]
        grown = 0.0
        spread = 0.0
        for i in range(dims):
            top = hi[tree, node, i]
            bottom = lo[tree, node, i]
            old = top - bottom
            if point[i] > top:
                top = point[i]
            elif point[i] < bottom:
                bottom = point[i]
            spread += top - bottom
            grown += (top - bottom) - old
        if grown <= 0.0 or spread <= 0.0:
            break  # inside this box, hence inside every ancestor's
        probability = grown / spread
        unseen = 1.0 / (level + 1.0)
        score = probability * unseen + (1.0 - probability) * score
        if attribute:
            for i in range(dims):
                high[i] = (1.0 - probability) * high[i]
                low[i] = (1.0 - probability) * low[i]
            _split_by_gap(lo, hi, tree, node, point, unseen, high, low, False)
    return score


@njit(cache=True, inline="always")
def _split_by_gap(
    lo: np.ndarray,
    hi: np.ndarray,
    tree: int,
    node: int,
    point: np.ndarray,
    amount: float,
    high: np.ndarray,
    low: np.ndarray,
    assign: bool,
) -> None:
    """Share ``amount`` among dimensions in proportion to how far the point sticks out of the
    node's box on each side, relative to the grown box's total range."""
    dims = point.shape[0]
    spread = 0.0
    for i in range(dims):
        top = hi[tree, node, i] if hi[tree, node, i] > point[i] else point[i]
        bottom = lo[tree, node, i] if lo[tree, node, i] < point[i] else point[i]
        spread += top - bottom
    for i in range(dims):
        above = point[i] - hi[tree, node, i] if point[i] > hi[tree, node, i] else 0.0
        below = lo[tree, node, i] - point[i] if point[i] < lo[tree, node, i] else 0.0
        share_high = amount * above / spread if spread > 0.0 else 0.0
        share_low = amount * below / spread if spread > 0.0 else 0.0
        if assign:
            high[i] = share_high
            low[i] = share_low
        else:
            high[i] += share_high
            low[i] += share_low


# -- the forest: sampling and the score-then-update loop ---------------------------------------
GATE_LOW, GATE_UNTIL = 0, 1
GATE_SPAN = 4096  # sequence numbers one pair of bounds covers
GATE_MARGIN = 1e-9  # relative margin on u: covers exp's rounding of a bound close to 1
GATE_SLACK = 2.0**-48  # relative margin on the weights: covers the rounding of -decay * t


@njit(cache=True)
def _open_gate(gate: np.ndarray, tree: int, heaviest: float, sequence: int, decay: float) -> None:
    """Bound, for the next GATE_SPAN sequence numbers, the draws that cannot be accepted.

    The gate refuses only draws that the exact test in ``update_tree`` (computed weight >= W)
    refuses too, so it never changes an outcome: hence ``math.exp`` (the C library's, not
    fdlibm's) may stay here, and the Java port may bound with its own exp.

    Why it is safe, for t <= last: with L the computed ln(-ln u), the draw is refused if
    ``-decay * t + L >= W`` in real numbers (rounding is monotone, so the computed weight is
    then >= W too), which holds once L >= W + decay * last * (1 + 2**-53), the product
    ``decay * t`` rounding by at most 2**-53 of itself. The gate refuses u below
    exp(-exp(B)) * (1 - GATE_MARGIN) with B = W + decay * last + GATE_SLACK * (|W| +
    decay * last + 1): that slack is several times the rounding of the product, of the sums
    and of the two logarithms in L (an ulp each, of numbers no larger than that sum). The
    factor 1 - GATE_MARGIN covers the two exps' rounding, which counts when exp(-exp(B)) is
    close to 1 (an ulp of u there, ~1e-16, is no longer small beside 1 - u).

    Before GATE_SLACK the only margin was GATE_MARGIN, worth about 1e-9 / exp(B) on the
    weights' scale: the rounding of ``decay * t`` outgrows that once decay * t passes 1e4 to
    1e7 (after some million rows with a timeDecay of a few hundred).
    """
    last = sequence + GATE_SPAN
    reach = decay * last
    bound = heaviest + reach + GATE_SLACK * (abs(heaviest) + reach + 1.0)
    low = math.exp(-math.exp(bound))
    gate[tree, GATE_LOW] = low * (1.0 - GATE_MARGIN)
    gate[tree, GATE_UNTIL] = float(last)


@njit(cache=True)
def update_tree(
    ints: np.ndarray,
    cut: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    meta: np.ndarray,
    free: np.ndarray,
    rng: np.ndarray,
    weights: np.ndarray,
    sampled: np.ndarray,
    gate: np.ndarray,
    tree: int,
    point: np.ndarray,
    sequence: int,
    decay: float,
) -> None:
    """Offer a point to one tree's reservoir; insert it if accepted, deleting the evicted one.

    A full sample takes the point when ``-decay * t + ln(-ln u) < W``, W the largest weight
    held; that is when u exceeds ``exp(-exp(W + decay * t))``, a bound that only falls as t
    grows. ``gate[tree]`` keeps that bound at the start and the end of a span of sequence
    numbers, so most draws are refused by one comparison; draws between the two bounds are
    decided by the exact weight, so the outcome is the same as computing it every time.
    """
    u = _next_uniform(rng, tree)
    while u <= 0.0:
        u = _next_uniform(rng, tree)
    capacity = weights.shape[1]
    count = meta[tree, COUNT]
    heaviest = meta[tree, HEAVIEST]
    if count >= capacity:
        if sequence >= gate[tree, GATE_UNTIL]:
            _open_gate(gate, tree, weights[tree, heaviest], sequence, decay)
        if u < gate[tree, GATE_LOW]:
            return  # refused for sure: the common case once the sample is full
    weight = -decay * sequence + log(-log(u))
    if count < capacity:
        slot = count
        meta[tree, COUNT] = count + 1
        weights[tree, slot] = weight
        if count == 0 or weight > weights[tree, heaviest]:
            meta[tree, HEAVIEST] = slot
    else:
        if weight >= weights[tree, heaviest]:
            return  # the common case once the sample is full: nothing changes
        slot = heaviest
        delete_point(ints, cut, lo, hi, meta, free, tree, sampled[tree, slot])
        weights[tree, slot] = weight
        heaviest = 0
        for j in range(1, capacity):
            if weights[tree, j] > weights[tree, heaviest]:
                heaviest = j
        meta[tree, HEAVIEST] = heaviest
        gate[tree, GATE_UNTIL] = -1.0  # W changed: the bounds must be drawn again
    for i in range(point.shape[0]):
        sampled[tree, slot, i] = point[i]
    insert_point(ints, cut, lo, hi, meta, free, rng, tree, point)


@njit(cache=True)
def score_point(
    ints: np.ndarray,
    cut: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    meta: np.ndarray,
    point: np.ndarray,
    path: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    tree_high: np.ndarray,
    tree_low: np.ndarray,
    attribute: bool,
) -> float:
    """The forest's score: the mean over trees of the tree score times log2(tree mass + 1)."""
    trees = ints.shape[0]
    total = 0.0
    used = 0
    if attribute:
        high[:] = 0.0
        low[:] = 0.0
    for tree in range(trees):
        if meta[tree, ROOT] == NONE:
            continue
        scale = log2(meta[tree, MASS_TOTAL] + 1.0)
        total += scale * score_tree(
            ints, cut, lo, hi, meta, tree, point, path, tree_high, tree_low, attribute
        )
        used += 1
        if attribute:
            for i in range(point.shape[0]):
                high[i] += scale * tree_high[i]
                low[i] += scale * tree_low[i]
    if used == 0:
        return 0.0
    if attribute:
        for i in range(point.shape[0]):
            high[i] /= used
            low[i] /= used
    return total / used


@njit(cache=True)
def score_and_update(
    ints: np.ndarray,
    cut: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    meta: np.ndarray,
    free: np.ndarray,
    rng: np.ndarray,
    weights: np.ndarray,
    sampled: np.ndarray,
    gate: np.ndarray,
    points: np.ndarray,
    first_sequence: int,
    decay: float,
    warmup: int,
    scores: np.ndarray,
    highs: np.ndarray,
    lows: np.ndarray,
    attribute: bool,
) -> None:
    """Score each point (0 while fewer than ``warmup`` points came before), then update."""
    dims = points.shape[1]
    path = np.empty(ints.shape[1], dtype=np.int32)
    tree_high = np.zeros(dims)
    tree_low = np.zeros(dims)
    high = np.zeros(dims)
    low = np.zeros(dims)
    for row in range(points.shape[0]):
        point = points[row]
        sequence = first_sequence + row
        if sequence >= warmup:
            scores[row] = score_point(
                ints, cut, lo, hi, meta, point, path, high, low, tree_high, tree_low, attribute
            )
            if attribute:
                highs[row] = high
                lows[row] = low
        else:
            scores[row] = 0.0
            if attribute:
                highs[row] = 0.0
                lows[row] = 0.0
        for tree in range(ints.shape[0]):
            update_tree(
                ints,
                cut,
                lo,
                hi,
                meta,
                free,
                rng,
                weights,
                sampled,
                gate,
                tree,
                point,
                sequence,
                decay,
            )


# -- state --------------------------------------------------------------------------------------
@njit(cache=True)
def rebuild_boxes(ints: np.ndarray, lo: np.ndarray, hi: np.ndarray, meta: np.ndarray) -> None:
    """Recompute every internal node's bounding box from its leaves' points.

    A box is exactly the union of its children's, so saved state need not hold boxes: the
    leaves' points are enough to restore them bit for bit.
    """
    trees, nodes, dims = lo.shape
    stack = np.empty(nodes + 1, dtype=np.int64)
    order = np.empty(nodes, dtype=np.int64)
    for tree in range(trees):
        root = meta[tree, ROOT]
        if root == NONE:
            continue
        top, count = 1, 0
        stack[0] = root
        while top > 0:  # pre-order: a parent before its children
            top -= 1
            node = stack[top]
            order[count] = node
            count += 1
            if ints[tree, node, DIM] != NONE:
                stack[top] = ints[tree, node, LEFT]
                stack[top + 1] = ints[tree, node, RIGHT]
                top += 2
        for i in range(count - 1, -1, -1):  # reversed: children before their parent
            node = order[i]
            if ints[tree, node, DIM] == NONE:
                continue
            left, right = ints[tree, node, LEFT], ints[tree, node, RIGHT]
            for d in range(dims):
                lo[tree, node, d] = min(lo[tree, left, d], lo[tree, right, d])
                hi[tree, node, d] = max(hi[tree, left, d], hi[tree, right, d])
