"""Start the NFL real-time sync daemon: `python src/nfl_realtime_sync.py --help` lists the options.

A thin script: the daemon lives in the `nfl_sync` package beside it (`nfl_sync.cli`). It also
plugs the replay tooling (`nfl_replay`) in for `--replay` and `download`, since the daemon never
imports it.
"""

import sys

from nfl_replay.download import run_download
from nfl_replay.runner import run_replay
from nfl_sync.cli import main

if __name__ == "__main__":
    sys.exit(main(replay=run_replay, download=run_download))
