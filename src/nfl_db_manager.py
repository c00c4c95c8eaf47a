"""Apply the database schema and say what was done (the same as `nfl_realtime_sync.py db migrate`).

A thin script: the database layer lives in `nfl_sync.storage`.
"""

import sys

from nfl_sync.cli import main

if __name__ == "__main__":
    sys.exit(main(["db", "migrate", *sys.argv[1:]]))
