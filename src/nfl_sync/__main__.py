"""`python -m nfl_sync`: the same command line as `python src/nfl_realtime_sync.py`."""

import sys

from nfl_sync.cli import main

sys.exit(main())
