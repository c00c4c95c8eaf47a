"""The HTTP base every fake server is built on, over real HTTP on 127.0.0.1: routing, recording
requests, handler errors, keep-alive connections with Content-Length, and stopping."""

from __future__ import annotations

import http.client
import json

import pytest
import requests

from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.http import FakeHTTPServer, Request, Response, json_response

pytest_plugins = ["replay_support"]


class EchoServer(FakeHTTPServer):
    """A minimal API on the shared base, the way the fake Telegram server builds on it."""

    def __init__(self) -> None:
        super().__init__("echo", "/bot123")
        self.route("POST", "/{method}", self._echo)
        self.route("GET", "/boom", self._boom)

    def _echo(self, request: Request) -> Response:
        return json_response({"ok": True, "method": request.params["method"], "got": request.json()})

    def _boom(self, request: Request) -> Response:
        raise RuntimeError("handler bug")


def test_base_server_routes_records_and_survives_handler_errors(session):
    with EchoServer() as server:
        reply = session.post(f"{server.base_url}/sendMessage", json={"chat_id": 1, "text": "hi"})
        assert reply.json() == {"ok": True, "method": "sendMessage", "got": {"chat_id": 1, "text": "hi"}}
        assert session.get(f"{server.base_url}/boom").status_code == 500
        assert session.get(f"{server.base_url}/nowhere").status_code == 404
        assert session.get(f"http://127.0.0.1:{server.port}/elsewhere/sendMessage").status_code == 404
        recorded = server.requests
        assert [(r.method, r.path, r.status) for r in recorded] == [
            ("POST", "/bot123/sendMessage", 200),
            ("GET", "/bot123/boom", 500),
            ("GET", "/bot123/nowhere", 404),
            ("GET", "/elsewhere/sendMessage", 404),
        ]
        assert json.loads(recorded[0].body) == {"chat_id": 1, "text": "hi"}


def test_connections_are_kept_alive_with_content_length(espn):
    connection = http.client.HTTPConnection("127.0.0.1", espn.port, timeout=5)
    try:
        sockets = []
        for path in ("/scoreboard", "/teams", "/summary?event=401547417"):
            connection.request("GET", f"/apis/site/v2/sports/football/nfl{path}")
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200 and not response.will_close
            assert int(response.getheader("Content-Length")) == len(body)
            sockets.append(connection.sock)
        assert sockets[0] is sockets[1] is sockets[2]
    finally:
        connection.close()


def test_stopping_a_server_closes_idle_keep_alive_connections(gb_atl, clock, session):
    server = FakeESPNServer([gb_atl], clock).start()
    url = f"{server.base_url}/teams"
    assert session.get(url).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url, timeout=2)
