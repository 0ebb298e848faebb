"""The Java forest (tidebox/java) scores, grades and explains bit for bit as the Python one.

The sources are compiled once per session with ``javac --release 17``; ``io.tidebox.anomaly
.Replay`` scores rows from stdin and prints raw bits, which must equal the Python forest's and
thresholder's on the same rows, parameters and seed.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import tidebox
from tidebox.anomaly import ForestError, ForestParams, RandomCutForest
from tidebox.anomaly._fdlibm import log
from tidebox.anomaly.scoring import explain, thresholder_for
from tidebox.anomaly.threshold import Thresholder

JAVA_SOURCES = Path(tidebox.__file__).parent / "java" / "io" / "tidebox" / "anomaly"  # no Flink
pytestmark = pytest.mark.skipif(
    shutil.which("javac") is None or shutil.which("java") is None, reason="needs a JDK (17+)"
)

LOG_CHECK = """
import java.io.*;

public class LogCheck {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            double x = Double.longBitsToDouble(Long.parseUnsignedLong(line.trim(), 16));
            out.append(Long.toHexString(Double.doubleToRawLongBits(StrictMath.log(x))));
            out.append('\\n');
        }
        System.out.print(out);
    }
}
"""


# Grades scores given as raw bits with the settings of the first line (scale NaN: none), saving
# and restoring the thresholder after `snapshotAfter` scores; prints each grade's raw bits.
THRESHOLD_CHECK = """
import io.tidebox.anomaly.Thresholder;
import java.io.*;
import java.util.Arrays;

public class ThresholdCheck {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String[] s = in.readLine().trim().split(" ");
        Thresholder t = new Thresholder(
                Double.parseDouble(s[0]), Double.parseDouble(s[1]), Double.parseDouble(s[2]),
                Integer.parseInt(s[3]), Integer.parseInt(s[4]), Double.parseDouble(s[5]),
                Integer.parseInt(s[6]));
        long snapshotAfter = Long.parseLong(s[7]);
        StringBuilder out = new StringBuilder();
        long seen = 0;
        for (String line; (line = in.readLine()) != null; ) {
            double score = Double.longBitsToDouble(Long.parseUnsignedLong(line.trim(), 16));
            out.append(Long.toHexString(Double.doubleToRawLongBits(t.gradeAndUpdate(score))));
            out.append('\\n');
            if (++seen == snapshotAfter) {
                byte[] saved = t.toBytes();
                t = Thresholder.fromBytes(saved);
                if (!Arrays.equals(saved, t.toBytes())) {
                    throw new IllegalStateException("a restored thresholder saves other bytes");
                }
            }
        }
        System.out.print(out);
    }
}
"""


@pytest.fixture(scope="session")
def java_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tidebox's Java sources and the test's LogCheck and ThresholdCheck, compiled for Java 17."""
    out = tmp_path_factory.mktemp("java")
    checks = [out / "LogCheck.java", out / "ThresholdCheck.java"]
    checks[0].write_text(LOG_CHECK)
    checks[1].write_text(THRESHOLD_CHECK)
    sources = [str(p) for p in sorted(JAVA_SOURCES.rglob("*.java"))]
    assert sources, JAVA_SOURCES
    done = subprocess.run(
        ["javac", "--release", "17", "-Xlint:all", "-Werror", "-d", str(out), *sources]
        + [str(c) for c in checks],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return out


def java(classes: Path, main: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["java", "-cp", str(classes), main], input=text, capture_output=True, text=True
    )


# -- fdlibm's log --------------------------------------------------------------------------------
def test_fdlibm_log_is_strictmath_log_bit_for_bit(java_classes: Path) -> None:
    rng = np.random.default_rng(11)
    one = int(np.float64(1.0).view(np.int64))
    values = np.concatenate(
        [
            rng.integers(1, 0x7FF0000000000000, 40_000, dtype=np.int64).view(np.float64),
            rng.integers(1, 1 << 52, 2_000, dtype=np.int64).view(np.float64),  # subnormal
            np.ldexp(1.0, np.arange(-1074, 1024)),
            np.arange(1.0, 2001.0),
            (one + np.arange(-2_000, 2_000, dtype=np.int64)).view(np.float64),  # around 1
            1.0 + rng.uniform(-0.5, 0.5, 10_000),
            rng.uniform(0.0, 1.0, 10_000),
            [0.0, -0.0, math.inf, -math.inf, math.nan, -1.0, 5e-324, 1.7976931348623157e308],
        ]
    )
    text = "\n".join(f"{bits:016x}" for bits in values.view(np.uint64).tolist())
    done = java(java_classes, "LogCheck", text)
    assert done.returncode == 0, done.stderr
    expected = np.array([int(h, 16) for h in done.stdout.split()], dtype=np.uint64)
    ours = np.array([log(float(v)) for v in values])
    nan = np.isnan(expected.view(np.float64))
    assert (np.isnan(ours) == nan).all()
    mismatches = np.flatnonzero(ours[~nan].view(np.uint64) != expected[~nan])
    assert len(mismatches) == 0, values[~nan][mismatches[:5]]


# -- the thresholder -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "settings",
    [
        Thresholder(suppression=50, scale=8.0, rarity=64),
        Thresholder(suppression=0, scale=None, rarity=300, warmup=5),
        Thresholder(z_factor=1.5, horizon=32.0, floor=0.5, suppression=7, scale=3.0),
    ],
    ids=["tuned-like, a short history", "z-ramp with rarity", "no rarity"],
)
def test_java_thresholder_grades_as_pythons_through_a_restore(
    java_classes: Path, settings: Thresholder
) -> None:
    """Scores with ties, zeros and spikes, long enough for the history to wrap many times."""
    rng = np.random.default_rng(12)
    scores = np.round(rng.gamma(4.0, 0.25, 3000), 2)  # many equal scores
    scores[rng.integers(0, 3000, 60)] = 0.0  # the forest's warm-up zeros are skipped
    scores[rng.integers(0, 3000, 40)] += rng.uniform(2.0, 9.0, 40)
    head = " ".join(
        str(v)
        for v in [
            settings.z_factor,
            settings.horizon,
            settings.floor,
            settings.warmup,
            settings.suppression,
            "NaN" if settings.scale is None else settings.scale,
            settings.rarity,
            1234,
        ]
    )
    body = "\n".join(f"{bits:016x}" for bits in scores.view(np.uint64).tolist())
    done = java(java_classes, "ThresholdCheck", f"{head}\n{body}\n")
    assert done.returncode == 0, done.stderr
    theirs = np.array([int(h, 16) for h in done.stdout.split()], dtype=np.uint64)
    ours = np.array([settings.grade_and_update(float(s)) for s in scores])
    assert (ours > 0).sum() > 10  # some scores did grade
    differ = np.flatnonzero(ours.view(np.uint64) != theirs)
    assert len(differ) == 0, (differ[:5], ours[differ[:5]], theirs[differ[:5]].view(np.float64))


# -- the forest ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Replayed:
    scores: np.ndarray  # raw bits, uint64
    grades: np.ndarray
    high: np.ndarray
    low: np.ndarray
    explanations: list[str]
    figures: dict[str, str]


def replay(
    classes: Path,
    params: ForestParams,
    preset: str,
    rows: np.ndarray,
    snapshot_after: int = 0,
    names: list[str] | None = None,
) -> Replayed:
    header = (
        f"numberOfTrees={params.number_of_trees} subSampleSize={params.sub_sample_size} "
        f"timeDecay={params.time_decay} shingleSize={params.shingle_size} "
        f"columns={params.columns} seed={params.seed} preset={preset} attribution=true "
        f"snapshotAfter={snapshot_after}" + (f" explain={','.join(names)}" if names else "")
    )
    body = "\n".join(" ".join(repr(v) for v in row) for row in rows.tolist())
    done = java(classes, "io.tidebox.anomaly.Replay", f"{header}\n{body}\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    bits = np.array(
        [[int(h, 16) for h in line.split("\t")[0].split()] for line in lines], dtype=np.uint64
    )
    columns = params.columns
    figures = dict(word.split("=", 1) for word in done.stderr.split())
    return Replayed(
        bits[:, 0],
        bits[:, 1],
        bits[:, 2 : 2 + columns],
        bits[:, 2 + columns :],
        [line.split("\t", 1)[1] for line in lines] if names else [],
        figures,
    )


def python_run(
    params: ForestParams, preset: str, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    scores, high, low = RandomCutForest(params).score_and_update(rows, attribution=True)
    assert high is not None and low is not None
    thresholder = thresholder_for(preset, params)
    grades = np.array([thresholder.grade_and_update(float(s)) for s in scores])
    return scores, grades, high, low


def walk(rows: int, columns: int, seed: int) -> np.ndarray:
    """A random walk per column with a spike every 97 rows."""
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(0.0, 1.0, (rows, columns)), axis=0)
    values[::97] += rng.choice([-25.0, 25.0], size=(len(values[::97]), columns))
    return values


def plateaus(rows: int, seed: int) -> np.ndarray:
    """Few distinct values in constant runs: equal points, duplicate leaves, masses > 1."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 4, rows // 3).astype(float)  # runs of 5 on average
    values = np.repeat(levels, rng.integers(1, 10, len(levels)))[:rows]
    values[rng.integers(0, rows, 20)] = 50.0
    return values.reshape(-1, 1)


def magnitudes(rows: int, seed: int) -> np.ndarray:
    """Huge, tiny (down to subnormal), signed-zero and integer-stepped columns side by side."""
    rng = np.random.default_rng(seed)
    values = np.column_stack(
        [
            rng.normal(0.0, 1.0, rows) * 1e150,
            rng.normal(0.0, 1.0, rows) * 1e-150,
            rng.integers(-3, 4, rows) * 5e-324,
            np.where(rng.random(rows) < 0.02, 1e6, np.floor(rng.normal(0.0, 3.0, rows))),
        ]
    )
    values[rng.integers(0, rows, 40), 2] = -0.0
    return values


CASES = {
    "1 column, small timeDecay (evictions, gate redraws), kinesis": (
        ForestParams(columns=1, number_of_trees=50, sub_sample_size=64, time_decay=300, seed=1),
        "kinesis",
        lambda: walk(3000, 1, 1),
    ),
    "4 columns, shingle 4, small timeDecay, tuned": (
        ForestParams(
            columns=4, number_of_trees=50, sub_sample_size=64, time_decay=300, shingle_size=4
        ),
        "tuned",
        lambda: walk(2000, 4, 2),
    ),
    "1 tree, 1 column, shingle 4, plateaus and duplicates": (
        ForestParams(
            columns=1, number_of_trees=1, sub_sample_size=64, time_decay=300, shingle_size=4
        ),
        "tuned",
        lambda: plateaus(3000, 3),
    ),
    "50 trees, plateaus, no shingle": (
        ForestParams(columns=1, number_of_trees=50, sub_sample_size=32, time_decay=200, seed=9),
        "kinesis",
        lambda: plateaus(2000, 4),
    ),
    "huge, tiny and subnormal magnitudes, 4 columns": (
        ForestParams(columns=4, number_of_trees=30, sub_sample_size=64, time_decay=500, seed=5),
        "kinesis",
        lambda: magnitudes(2000, 5),
    ),
    "1 column, shingle 12 (attributions summed over 12 positions)": (
        ForestParams(columns=1, number_of_trees=20, sub_sample_size=64, shingle_size=12, seed=6),
        "tuned",
        lambda: walk(1500, 1, 6),
    ),
    "Kinesis defaults (100 trees of 256), 2 columns, a large seed": (
        ForestParams(columns=2, seed=2**40 + 3),
        "kinesis",
        lambda: walk(1500, 2, 7),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_java_scores_grades_and_attributions_are_pythons(java_classes: Path, case: str) -> None:
    params, preset, make_rows = CASES[case]
    rows = make_rows()
    theirs = replay(java_classes, params, preset, rows)
    scores, grades, high, low = python_run(params, preset, rows)
    assert (scores > 0).sum() > len(rows) // 2  # the forest did score, past its warm-up
    for name, ours, got in [
        ("score", scores, theirs.scores),
        ("grade", grades, theirs.grades),
        ("high", high, theirs.high),
        ("low", low, theirs.low),
    ]:
        differ = np.flatnonzero((ours.view(np.uint64) != got).reshape(len(rows), -1).any(axis=1))
        assert len(differ) == 0, (name, differ[:5], len(differ))


@pytest.mark.parametrize(
    ("params", "preset", "after"),
    [
        (
            ForestParams(columns=4, number_of_trees=30, sub_sample_size=64, time_decay=300),
            "tuned",
            1200,
        ),
        (
            ForestParams(columns=2, number_of_trees=10, sub_sample_size=32, shingle_size=4),
            "tuned",
            2,
        ),
    ],
    ids=["after warm-up", "while the shingle fills"],
)
def test_a_restored_snapshot_continues_bit_for_bit(
    java_classes: Path, params: ForestParams, preset: str, after: int
) -> None:
    rows = walk(2000, params.columns, 8)
    theirs = replay(java_classes, params, preset, rows, snapshot_after=after)
    scores, grades, high, low = python_run(params, preset, rows)
    assert int(theirs.figures["snapshot_bytes"]) > 0
    assert theirs.figures["snapshot_stable"] == "true"  # a restored forest saves the same bytes
    assert (theirs.scores == scores.view(np.uint64)).all()
    assert (theirs.grades == grades.view(np.uint64)).all()
    assert (theirs.high == high.view(np.uint64)).all() and (theirs.low == low.view(np.uint64)).all()


def test_explanations_are_pythons(java_classes: Path) -> None:
    params = ForestParams(columns=4, number_of_trees=30, sub_sample_size=64, time_decay=400)
    names = ["temp", 'hu"m', "Δp", "x\\y"]
    rows = magnitudes(400, 10)
    rows[:, 0] /= 1e150  # keep the columns' shares comparable, so every one gets some
    rows[:, 1] *= 1e150
    theirs = replay(java_classes, params, "kinesis", rows, names=names)
    _, _, high, low = python_run(params, "kinesis", rows)
    expected = [explain(names, h, lo) for h, lo in zip(high, low, strict=True)]
    assert [json.loads(e) for e in theirs.explanations] == [json.loads(e) for e in expected]
    assert theirs.explanations == expected  # written as json.dumps writes it, too


@pytest.mark.parametrize(
    "change",
    [
        {"number_of_trees": 0},
        {"number_of_trees": 1001},
        {"sub_sample_size": 9},
        {"sub_sample_size": 1001},
        {"time_decay": 0},
        {"time_decay": 2_147_483_648},
        {"shingle_size": 31},
        {"columns": 31},
        {"sub_sample_size": 300, "time_decay": 300},
    ],
)
def test_java_refuses_what_python_refuses_with_the_same_message(
    java_classes: Path, change: dict[str, int]
) -> None:
    params = ForestParams(**change)
    with pytest.raises(ForestError) as refused:
        params.check()
    header = (
        f"numberOfTrees={params.number_of_trees} subSampleSize={params.sub_sample_size} "
        f"timeDecay={params.time_decay} shingleSize={params.shingle_size} "
        f"columns={params.columns}"
    )
    done = java(java_classes, "io.tidebox.anomaly.Replay", header + "\n")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {refused.value}"
