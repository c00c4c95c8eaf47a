"""The daemon as a process tells which database it uses: `DB_*` settings select a configured
server (the specification's defaults for the rest), and a server that does not let it in is named
in one line, never with its password."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
# libpq's requests to negotiate encryption before the startup message (PostgreSQL protocol 3).
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
PASSWORD = "hunter2@not:for/logs"  # reserved characters: the URL holds it percent-encoded


class StartupRecorder:
    """A loopback listener that refuses encryption, records the first startup message's
    parameters (user, database) and hangs up, as a server that will not let the client in."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.parameters: dict[str, str] = {}
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.socket.accept()
        with connection:
            while True:
                length, code = struct.unpack("!ii", _read(connection, 8))
                body = _read(connection, length - 8)
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    connection.sendall(b"N")
                    continue
                fields = body.rstrip(b"\0").split(b"\0")
                self.parameters = {k.decode(): v.decode() for k, v in zip(fields[::2], fields[1::2], strict=True)}
                return

    def close(self) -> None:
        self.socket.close()


def _read(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client hung up")
        data += chunk
    return data


def test_db_password_and_port_make_the_daemon_try_localhost_magnus_as_postgres_and_say_so(tmp_path):
    server = StartupRecorder()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LOG_DIR": str(tmp_path / "logs"),
        "TELEGRAM_ENABLED": "false",
        "DB_PASSWORD": PASSWORD,
        "DB_PORT": str(server.port),
        "DB_CONNECT_TIMEOUT": "5",
    }
    try:
        result = subprocess.run(
            [sys.executable, "src/nfl_realtime_sync.py", "--once"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        server.thread.join(5)
    finally:
        server.close()
    output = result.stdout + result.stderr
    target = f"PostgreSQL at localhost:{server.port}, database magnus, user postgres"
    assert f"Database: {target}" in output
    assert server.parameters["user"] == "postgres" and server.parameters["database"] == "magnus"
    # Refused: one line that names the server, no traceback, status 1 for the supervisor.
    assert result.returncode == 1
    assert "Could not start: cannot connect to PostgreSQL" in output and f"({target})" in output
    assert "Traceback" not in output
    log_text = (tmp_path / "logs" / "nfl_pipeline.log").read_text()
    for secret in (PASSWORD, quote(PASSWORD, safe="")):
        assert secret not in output and secret not in log_text
