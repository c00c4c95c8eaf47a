"""Median parse time of every recorded ESPN summary and scoreboard (tests/fixtures/espn).

    .venv/bin/python bench/parse.py [--repeat N] [--sdv-python /tmp/sdv/bin/python]

Times `parse_summary` / `parse_scoreboard` on already-decoded JSON (what the fetcher
hands them), then `json.loads` + parse, per file. With `--sdv-python` pointing at an interpreter
that has `sportsdataverse` installed (kept out of requirements: it pulls ~1.7 GB), it also times
sportsdataverse's disk loader `NFLPlayProcess(gameId, path_to_json=DIR).nfl_pbp_disk()` on the
same summary file, in that interpreter, and prints the ratio; when that cannot run it says why.
That loader only decodes the file; sportsdataverse's own parsing (`run_processing_pipeline()`)
downloads model files from GitHub, so it cannot be timed offline and is left out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nfl_sync.sources.espn.scoreboard import parse_scoreboard
from nfl_sync.sources.espn.summary import parse_summary

ROOT = Path(__file__).resolve().parent.parent

FIXTURES = ROOT / "tests" / "fixtures" / "espn"

# Runs inside the sportsdataverse interpreter: prints the median seconds of nfl_pbp_disk().
_SDV_TIMER = """
import json, statistics, sys, time
from sportsdataverse.nfl import NFLPlayProcess
game_id, folder, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(repeat):
    started = time.perf_counter()
    NFLPlayProcess(gameId=int(game_id), path_to_json=folder).nfl_pbp_disk()
    times.append(time.perf_counter() - started)
print(json.dumps(statistics.median(times)))
"""


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm caches (team table, regexes) so the first run does not skew small medians
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench(pattern: str, parse: Callable[[object], object], repeat: int) -> list[tuple[str, float, float]]:
    rows = []
    for path in sorted(FIXTURES.glob(pattern)):
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
        parsed = median_ms(lambda data=data: parse(data), repeat)
        decoded_and_parsed = median_ms(lambda text=text: parse(json.loads(text)), repeat)
        rows.append((path.name, parsed, decoded_and_parsed))
    return rows


def sportsdataverse_ms(python: str, path: Path, repeat: int) -> tuple[float | None, str]:
    """(median ms, "") or (None, reason) for sportsdataverse's disk loader on one summary file."""
    game_id = path.stem.split("_")[1]
    with tempfile.TemporaryDirectory() as folder:
        # nfl_pbp_disk() reads {path_to_json}/{gameId}.json
        shutil.copy(path, Path(folder) / f"{game_id}.json")
        try:
            result = subprocess.run(
                [python, "-c", _SDV_TIMER, game_id, folder, str(repeat)], capture_output=True, text=True, timeout=900
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"could not run {python}: {error}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"sportsdataverse failed: {last}"
    return json.loads(result.stdout.strip().splitlines()[-1]) * 1000, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sdv-python", help="python of a venv with sportsdataverse installed")
    args = parser.parse_args()

    print(f"{'file':48} {'parse ms':>9} {'loads+parse ms':>15}")
    summaries = bench("summary_*.json", parse_summary, args.repeat)
    summaries += bench("cdn_game_*.json", parse_summary, args.repeat)
    scoreboards = bench("scoreboard_*.json", parse_scoreboard, args.repeat)
    for name, parse_ms, total_ms in summaries + scoreboards:
        print(f"{name:48} {parse_ms:9.2f} {total_ms:15.2f}")
    print(
        f"median per summary:    {statistics.median(r[1] for r in summaries):.2f} ms parse, "
        f"{statistics.median(r[2] for r in summaries):.2f} ms with json.loads"
    )
    print(
        f"median per scoreboard: {statistics.median(r[1] for r in scoreboards):.2f} ms parse, "
        f"{statistics.median(r[2] for r in scoreboards):.2f} ms with json.loads"
    )

    if not args.sdv_python:
        print("sportsdataverse: not compared (pass --sdv-python PATH to an interpreter that has it)")
        return
    # Only finished games have plays to process; pre-game summaries would measure nothing.
    target = FIXTURES / "summary_401547417.json"
    ours = next(r for r in summaries if r[0] == target.name)[2]
    theirs, why = sportsdataverse_ms(args.sdv_python, target, max(3, args.repeat // 10))
    if theirs is None:
        print(f"sportsdataverse: not compared on {target.name}: {why}")
        return
    print(
        f"sportsdataverse nfl_pbp_disk on {target.name}: {theirs:.2f} ms; ours (json.loads + parse_summary): "
        f"{ours:.2f} ms; ratio ours/theirs {ours / theirs:.2f}"
    )
    print(
        "  note: nfl_pbp_disk() only json.load()s the file; sportsdataverse's parsing is "
        "run_processing_pipeline(), which downloads model files from GitHub on first use and so is not "
        "timed here (the comparison must run offline)"
    )


if __name__ == "__main__":
    main()
