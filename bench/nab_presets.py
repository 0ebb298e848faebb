"""The presets on a NAB-layout folder: every seed and profile, on the categories the tuned preset
was chosen on, on the one held out, and on all of them.

Each subset is scored as NAB scores a corpus, with the best threshold per profile for that
subset (both presets alike). ``held@choice`` scores the held-out category at the thresholds
chosen on the choosing categories instead, as a deployment that cannot tune on it would.

    .venv/bin/python bench/nab_presets.py --data ../shared/nab [--seeds 0-4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tidebox.anomaly.nab import (  # noqa: E402
    DETECTORS,
    PROFILES,
    load_corpus,
    score_at_threshold,
    score_profile,
)

HELD_OUT = "realAWSCloudwatch/"
SHORT = {"standard": "standard", "reward_low_FP_rate": "low FP", "reward_low_FN_rate": "low FN"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seeds", default="0-4", help="first-last")
    args = parser.parse_args()
    first, last = (int(s) for s in args.seeds.split("-"))
    seeds = range(first, last + 1)
    corpus = load_corpus(args.data)
    subsets = {
        "choice": [s for s in corpus if not s.name.startswith(HELD_OUT)],
        "held": [s for s in corpus if s.name.startswith(HELD_OUT)],
        "all": corpus,
    }
    print(
        f"choice: {len(subsets['choice'])} files; held out ({HELD_OUT[:-1]}): "
        f"{len(subsets['held'])}; all: {len(corpus)}"
    )
    for preset, make in DETECTORS.items():
        table: dict[tuple[str, str], list[float]] = {}
        for seed in seeds:
            detect = make(seed)
            detections = {s.name: detect(s.values) for s in corpus}
            for profile in PROFILES:
                for name, subset in subsets.items():
                    result = score_profile(subset, detections, profile)
                    table.setdefault((name, profile), []).append(result.score)
                    if name == "choice":
                        fixed = score_at_threshold(
                            subsets["held"], detections, profile, result.threshold
                        )
                        table.setdefault(("held@choice", profile), []).append(fixed)
        print(f"\n{preset}: seeds {', '.join(map(str, seeds))}, then their mean")
        for name in ("choice", "held", "all", "held@choice"):
            for profile in PROFILES:
                values = table[(name, profile)]
                cells = " ".join(f"{v:6.2f}" for v in values)
                print(f"  {name:11s} {SHORT[profile]:8s} {cells}   {statistics.mean(values):6.2f}")


if __name__ == "__main__":
    main()
