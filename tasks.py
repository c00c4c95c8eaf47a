"""Set up and run the project with nothing but Python 3.11+: `python3 tasks.py run|test|db|check`.

Creates `.venv` on first use, (re)installs the requirements whenever they (or pyproject.toml)
change, then runs the daemon (`run`), the test suite (`test`), the schema migrations (`db`) or
the code gates (`check`: ruff, ruff format, mypy, import-linter) inside it.
Extra arguments are passed through to run, test and db, e.g. `python3 tasks.py run --once`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
SCRIPTS = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = SCRIPTS / ("python.exe" if os.name == "nt" else "python")
COMMANDS = {
    "run": ("requirements.txt", ["src/nfl_realtime_sync.py"]),
    "db": ("requirements.txt", ["src/nfl_db_manager.py"]),
    "test": ("requirements-dev.txt", ["-m", "pytest"]),
}
# The gates CI runs before the tests, each a console script of the venv; each must pass.
CHECKS = (
    ["ruff", "check", "src", "tests", "bench", "tasks.py"],
    ["ruff", "format", "--check", "src", "tests", "bench", "tasks.py"],
    ["mypy"],
    ["lint-imports"],
)


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for path in [*sorted(ROOT.glob("requirements*.txt")), ROOT / "pyproject.toml"]:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _stamp(requirements: str) -> Path:
    return VENV / f".installed-{requirements}"


def ensure_environment(requirements: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not PYTHON.exists():
        print(f"Creating virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = _requirements_digest()
    # The dev requirements include the runtime ones, so either stamp will do for `run`.
    satisfying = [requirements] + (["requirements-dev.txt"] if requirements == "requirements.txt" else [])
    if any(_stamp(name).exists() and _stamp(name).read_text() == digest for name in satisfying):
        return
    print(f"Installing {requirements} ...", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(ROOT / requirements)],
        check=True,
        cwd=ROOT,
    )
    _stamp(requirements).write_text(digest)


def check() -> int:
    """Every gate, in order; the first failure ends the run with its status."""
    ensure_environment("requirements-dev.txt")
    for gate in CHECKS:
        print("$", " ".join(gate), flush=True)
        status = subprocess.call([str(SCRIPTS / gate[0]), *gate[1:]], cwd=ROOT)
        if status:
            return status
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "check":
        return check()
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip())
        return 2
    requirements, command = COMMANDS[argv[0]]
    ensure_environment(requirements)
    return subprocess.call([str(PYTHON), *command, *argv[1:]], cwd=ROOT)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
