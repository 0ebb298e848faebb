"""A streaming random cut forest with Kinesis Data Analytics' parameters and score scale.

Score first, then update: ``score_and_update`` gives each row the score the forest had for it
before learning from it, as RANDOM_CUT_FOREST does. Rows are shingled (the last
``shingle_size`` rows concatenated) before they reach the trees.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass

import numpy as np

from tidebox.anomaly import _fdlibm
from tidebox.anomaly import _kernels as k
from tidebox.core.errors import TideboxError

MAX_COLUMNS = 30
FORMAT_VERSION = 2
NEVER_SCORE = np.iinfo(np.int64).max  # a warm-up no sequence number reaches


class ForestError(TideboxError):
    """A forest parameter is out of range, or an input row cannot be scored."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class ForestParams:
    """RANDOM_CUT_FOREST's parameters, with Kinesis Data Analytics' defaults and ranges."""

    columns: int = 1
    number_of_trees: int = 100
    sub_sample_size: int = 256
    time_decay: int = 100_000
    shingle_size: int = 1
    seed: int = 0

    def check(self) -> None:
        limits = {
            "numberOfTrees": (self.number_of_trees, 1, 1000),
            "subSampleSize": (self.sub_sample_size, 10, 1000),
            "timeDecay": (self.time_decay, 1, 2_147_483_647),
            "shingleSize": (self.shingle_size, 1, 30),
            "columns": (self.columns, 1, MAX_COLUMNS),
        }
        for name, (value, low, high) in limits.items():
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ForestError(f"{name} must be a whole number, got {value!r}", name)
            if not low <= value <= high:
                raise ForestError(f"{name} must be between {low} and {high}, got {value}", name)
        if self.sub_sample_size >= self.time_decay:
            raise ForestError(
                f"subSampleSize ({self.sub_sample_size}) must be below timeDecay "
                f"({self.time_decay})",
                "subSampleSize",
            )

    @property
    def dimensions(self) -> int:
        return self.columns * self.shingle_size

    @property
    def normaliser(self) -> float:
        """log2(subSampleSize): divides scores onto NAB's [0, 1] scale, as NAB's run did
        (fdlibm's, as the kernels' scores use: see _fdlibm.log2)."""
        return float(_fdlibm.log2(float(self.sub_sample_size)))


class RandomCutForest:
    """Score and learn a stream of numeric rows; one instance per key (device)."""

    def __init__(self, params: ForestParams | None = None, **overrides: int) -> None:
        params = params or ForestParams(**overrides)
        params.check()
        self.params = params
        trees, sample, dims = params.number_of_trees, params.sub_sample_size, params.dimensions
        nodes = 2 * sample
        self.ints = np.empty((trees, nodes, 5), dtype=np.int32)
        self.cut = np.zeros((trees, nodes))
        self.lo = np.zeros((trees, nodes, dims))
        self.hi = np.zeros((trees, nodes, dims))
        self.meta = np.zeros((trees, 5), dtype=np.int64)
        self.free = np.empty((trees, nodes), dtype=np.int32)
        self.rng = np.zeros(trees, dtype=np.uint64)
        self.weights = np.zeros((trees, sample))
        self.sampled = np.zeros((trees, sample, dims))
        self.gate = np.full((trees, 2), -1.0)  # derived bounds that speed up sampling
        self.shingle = np.zeros((params.shingle_size, params.columns))
        self.rows_seen = 0  # rows given to update(), shingled or not
        k.reset_trees(self.ints, self.meta, self.free)
        k.seed_streams(self.rng, params.seed)

    # -- rows and shingles ---------------------------------------------------------------------
    def _rows(self, rows: np.ndarray | list[float] | list[list[float]]) -> np.ndarray:
        array = np.asarray(rows, dtype=np.float64)
        if array.ndim == 1:
            array = array.reshape(1, -1) if self.params.columns > 1 else array.reshape(-1, 1)
        if array.ndim != 2 or array.shape[1] != self.params.columns:
            raise ForestError(
                f"expected rows of {self.params.columns} value(s), got shape {array.shape}"
            )
        if not np.isfinite(array).all():
            bad = int(np.argwhere(~np.isfinite(array))[0][0])
            raise ForestError(f"row {bad} holds NaN or infinity: {array[bad].tolist()}")
        return array

    def _shingled(self, rows: np.ndarray) -> tuple[np.ndarray, int]:
        """The points the rows make, and how many leading rows only filled the shingle."""
        size = self.params.shingle_size
        history = np.concatenate([self.shingle, rows])
        filling = max(0, size - 1 - self.rows_seen)
        windows = np.lib.stride_tricks.sliding_window_view(history, (size, rows.shape[1]))
        points = windows.reshape(-1, size * rows.shape[1])[1:]
        return np.ascontiguousarray(points[filling:]), min(filling, len(rows))

    def _advance(self, rows: np.ndarray) -> None:
        size = self.params.shingle_size
        self.shingle = np.concatenate([self.shingle, rows])[-size:].copy()
        self.rows_seen += len(rows)

    @property
    def points_seen(self) -> int:
        return max(0, self.rows_seen - (self.params.shingle_size - 1))

    # -- the streaming API ---------------------------------------------------------------------
    def _learn(
        self, array: np.ndarray, warmup: int, attribution: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Run rows through the batch kernel: score each point whose sequence number has
        reached ``warmup``, then offer it to every tree. Returns the points' scores and
        attributions and how many leading rows only filled the shingle."""
        points, filling = self._shingled(array)
        dims = self.params.dimensions
        scores = np.zeros(len(points))
        highs = np.zeros((len(points), dims))
        lows = np.zeros((len(points), dims))
        k.score_and_update(
            self.ints,
            self.cut,
            self.lo,
            self.hi,
            self.meta,
            self.free,
            self.rng,
            self.weights,
            self.sampled,
            self.gate,
            points,
            self.points_seen,
            1.0 / self.params.time_decay,
            warmup,
            scores,
            highs,
            lows,
            attribution,
        )
        self._advance(array)
        return scores, highs, lows, filling

    def score_and_update(
        self, rows: np.ndarray | list[float] | list[list[float]], attribution: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Per row, the score before the forest learns the row; then learn it.

        Returns (scores, high, low): ``high``/``low`` are per-row, per-column attributions
        (summed over shingle positions) when ``attribution`` is set, else None.
        """
        array = self._rows(rows)
        point_scores, highs, lows, filling = self._learn(
            array, self.params.sub_sample_size, attribution
        )
        scores = np.zeros(len(array))
        scores[filling:] = point_scores
        if not attribution:
            return scores, None, None
        high = np.zeros((len(array), self.params.columns))
        low = np.zeros((len(array), self.params.columns))
        high[filling:] = self._per_column(highs)
        low[filling:] = self._per_column(lows)
        return scores, high, low

    def _per_column(self, shares: np.ndarray) -> np.ndarray:
        """Sum each column's shares over the shingle positions, oldest first, one position at
        a time: a fixed order that the Java port repeats (``ndarray.sum`` switches to pairwise
        summation along a contiguous axis, which one column with a long shingle would be)."""
        size, columns = self.params.shingle_size, self.params.columns
        positions = shares.reshape(len(shares), size, columns)
        total = positions[:, 0].copy()
        for position in range(1, size):
            total += positions[:, position]
        return total

    def score(self, row: np.ndarray | list[float]) -> float:
        """The score the next row would get, without learning it."""
        array = self._rows(row)[:1]
        points, filling = self._shingled(array)
        if filling or self.points_seen < self.params.sub_sample_size:
            return 0.0
        dims = self.params.dimensions
        path = np.empty(self.ints.shape[1], dtype=np.int32)
        high, low, tree_high, tree_low = (np.zeros(dims) for _ in range(4))
        return float(
            k.score_point(
                self.ints,
                self.cut,
                self.lo,
                self.hi,
                self.meta,
                points[0],
                path,
                high,
                low,
                tree_high,
                tree_low,
                False,
            )
        )

    def update(self, row: np.ndarray | list[float]) -> None:
        """Learn one row (offer its shingle to every tree's sample) without scoring it."""
        self._learn(self._rows(row)[:1], NEVER_SCORE, False)

    # -- state ---------------------------------------------------------------------------------
    # saved as they are; boxes are rebuilt from the leaves' points (see k.rebuild_boxes)
    _ARRAYS = ("meta", "rng", "weights", "sampled", "shingle")

    def to_bytes(self) -> bytes:
        """The whole state, exactly: restoring it continues the stream bit for bit.

        Compact and fast rather than small at any cost: the node table as int16 when it
        fits, the leaves' points instead of every node's bounding box, no compression
        (100 trees of 256 points: about 1.4 MB for one column, a few milliseconds).
        """
        header = {"version": FORMAT_VERSION, "params": asdict(self.params), "rows": self.rows_seen}
        leaves = self._leaf_mask()
        ints = self.ints.astype(np.int16) if self.ints.max(initial=0) < 2**15 else self.ints
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        buffer = io.BytesIO()
        np.savez(
            buffer,
            header=np.frombuffer(json.dumps(header).encode(), np.uint8),
            ints=ints,
            free=self.free.astype(np.int16),  # slots number at most 2 x 1000
            cuts=self.cut[self.ints[:, :, k.DIM] != k.NONE],
            leaves=self.lo[leaves],
            **arrays,
        )
        return buffer.getvalue()

    def _leaf_mask(self) -> np.ndarray:
        return (self.ints[:, :, k.DIM] == k.NONE) & (self.ints[:, :, k.MASS] > 0)

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        """Pickle through to_bytes: compact and exact (Flink's Python state backend pickles a
        state value when it commits a bundle's state, not at every update)."""
        return (RandomCutForest.from_bytes, (self.to_bytes(),))

    @classmethod
    def from_bytes(cls, data: bytes) -> RandomCutForest:
        try:
            stored = np.load(io.BytesIO(data), allow_pickle=False)
            header = json.loads(stored["header"].tobytes())
        except (ValueError, OSError, KeyError) as exc:
            raise ForestError(f"not a saved forest: {exc}") from exc
        if header.get("version") != FORMAT_VERSION:
            raise ForestError(
                f"saved forest has format {header.get('version')}, not {FORMAT_VERSION}"
            )
        forest = cls(ForestParams(**header["params"]))
        for name in cls._ARRAYS:
            setattr(forest, name, stored[name].copy())
        forest.ints = stored["ints"].astype(np.int32)
        forest.free = stored["free"].astype(np.int32)
        forest.cut[forest.ints[:, :, k.DIM] != k.NONE] = stored["cuts"]
        leaves = forest._leaf_mask()
        forest.lo[leaves] = stored["leaves"]
        forest.hi[leaves] = stored["leaves"]
        k.rebuild_boxes(forest.ints, forest.lo, forest.hi, forest.meta)
        forest.rows_seen = int(header["rows"])
        return forest

    @property
    def normaliser(self) -> float:
        return self.params.normaliser
