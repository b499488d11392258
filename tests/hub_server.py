"""A loopback HTTP server that speaks the part of the Hugging Face hub protocol our code uses.

huggingface_hub reaches it through HF_ENDPOINT, so `snapshot_download` and `HfApi.list_models` run
their real code against it: repo info (`/api/models/{repo}/revision/{rev}`), the file tree
(`/api/models/{repo}/tree/{rev}`), file metadata and content (HEAD/GET `/{repo}/resolve/{rev}/{file}`
with X-Repo-Commit, ETag, X-Linked-Etag/X-Linked-Size and Range), and search (`/api/models?search=`).
It records every request, can send one file slowly (to cancel mid-download) or cut its first transfer
short (to make the client resume with a Range request), and refuses more than `max_requests`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None


@dataclass
class HubRepo:
    """A model repository: its files (name -> bytes) and what search shows about it."""

    repo_id: str
    files: dict[str, bytes]
    pipeline_tag: str = "fill-mask"
    downloads: int = 0

    @classmethod
    def from_folder(cls, repo_id: str, folder: Path, **kwargs: object) -> HubRepo:
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        return cls(repo_id, files, **kwargs)  # type: ignore[arg-type]


@dataclass
class Behaviour:
    """How the server misbehaves, like a real network: slowly, or by dropping a transfer."""

    slow_file: str | None = None  # sent in small pieces, after every other file of its repo was served
    slow_delay_s: float = 0.05
    late_file: str | None = None  # its GET answers only after every other file of its repo was served
    cut_file: str | None = None  # its first GET ends after `cut_after` bytes (connection closed)
    cut_after: int = 0


@dataclass
class FakeHub:
    repos: list[HubRepo]
    behaviour: Behaviour = field(default_factory=Behaviour)
    max_requests: int = 400
    requests: list[Request] = field(default_factory=list)
    bytes_sent: dict[str, int] = field(default_factory=dict)  # file name -> body bytes written
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _others_served: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def gets(self, name: str) -> list[Request]:
        """The GET requests for one file's content."""
        return [
            r for r in self.requests if r.method == "GET" and r.path.endswith(f"/resolve/{COMMIT}/{name}")
        ]

    def _repo(self, repo_id: str) -> HubRepo | None:
        return next((r for r in self.repos if r.repo_id == repo_id), None)

    def _record(self, request: Request) -> bool:
        with self._lock:
            self.requests.append(request)
            return len(self.requests) <= self.max_requests

    def _file_done(self, repo: HubRepo, name: str, sent: int) -> None:
        with self._lock:
            self.bytes_sent[name] = self.bytes_sent.get(name, 0) + sent
            waiting = (self.behaviour.slow_file, self.behaviour.late_file)
            others = [n for n in repo.files if n not in waiting]
            if all(self.bytes_sent.get(n, 0) >= len(repo.files[n]) for n in others):
                self._others_served.set()


def _etag(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects from the hub
        timeout = 20  # a client that stalls cannot hold a server thread for ever

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
            pass

        def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
            self._serve(body=False)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            url = urlsplit(self.path)
            path, query = unquote(url.path), parse_qs(url.query)
            if not hub._record(Request(self.command, path, self.headers.get("Range"))):
                return self._json({"error": "too many requests to the test hub"}, status=503)
            if path == "/api/models":
                return self._search(query)
            if match := re.fullmatch(r"/api/models/(.+)/revision/([^/]+)", path):
                return self._info(match[1])
            if match := re.fullmatch(r"/api/models/(.+)/tree/([^/]+)", path):
                return self._tree(match[1])
            if match := re.fullmatch(r"/(.+)/resolve/([^/]+)/(.+)", path):
                return self._file(match[1], match[3], body)
            self._json({"error": f"not served by the test hub: {path}"}, status=404)

        def _json(self, value: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, val in (headers or {}).items():
                self.send_header(key, val)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _missing_repo(self, repo_id: str) -> None:
            # What the hub answers for unknown and private repos alike.
            self._json(
                {"error": "Repository not found"},
                status=401,
                headers={"X-Error-Code": "RepoNotFound", "X-Error-Message": f"{repo_id} not found"},
            )

        def _search(self, query: dict[str, list[str]]) -> None:
            text = query.get("search", [""])[0].lower()
            task = query.get("pipeline_tag", [None])[0]
            hits = [
                r for r in hub.repos if text in r.repo_id.lower() and (task is None or r.pipeline_tag == task)
            ]
            hits.sort(key=lambda r: -r.downloads)
            limit = int(query.get("limit", ["1000"])[0])
            self._json(
                [
                    {"id": r.repo_id, "downloads": r.downloads, "pipeline_tag": r.pipeline_tag, "likes": 0}
                    for r in hits[:limit]
                ]
            )

        def _info(self, repo_id: str) -> None:
            repo = hub._repo(repo_id)
            if repo is None:
                return self._missing_repo(repo_id)
            siblings = [{"rfilename": name} for name in repo.files]
            self._json({"id": repo_id, "sha": COMMIT, "private": False, "siblings": siblings})

        def _tree(self, repo_id: str) -> None:
            repo = hub._repo(repo_id)
            if repo is None:
                return self._missing_repo(repo_id)
            entries = []
            for name, content in repo.files.items():
                entry = {"type": "file", "path": name, "size": len(content), "oid": _etag(content)[:40]}
                if name.endswith(".safetensors"):  # weights are LFS files on the real hub
                    entry["lfs"] = {"oid": _etag(content), "size": len(content), "pointerSize": 134}
                entries.append(entry)
            self._json(entries)

        def _file(self, repo_id: str, name: str, body: bool) -> None:
            repo = hub._repo(repo_id)
            if repo is None:
                return self._missing_repo(repo_id)
            content = repo.files.get(name)
            headers = {"X-Repo-Commit": COMMIT}
            if content is None:
                headers["X-Error-Code"] = "EntryNotFound"
                return self._json({"error": "Entry not found"}, status=404, headers=headers)
            if body and name == hub.behaviour.late_file:
                hub._others_served.wait(timeout=10)  # the client learns its size only after the rest
            start = 0
            if match := re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or ""):
                start = min(int(match[1]), len(content))
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{_etag(content)}"')
            self.send_header("X-Linked-Etag", f'"{_etag(content)}"')
            self.send_header("X-Linked-Size", str(len(content)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(content) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
            self.end_headers()
            if body:
                self._send_body(repo, name, content[start:], first=not hub.bytes_sent.get(name))

        def _send_body(self, repo: HubRepo, name: str, data: bytes, first: bool) -> None:
            behaviour = hub.behaviour
            sent = 0
            try:
                if name == behaviour.cut_file and first:
                    self.wfile.write(data[: behaviour.cut_after])
                    sent = behaviour.cut_after
                    self.close_connection = True  # the client sees the body end early
                elif name == behaviour.slow_file:
                    hub._others_served.wait(timeout=10)
                    for i in range(0, len(data), 4096):
                        self.wfile.write(data[i : i + 4096])
                        self.wfile.flush()
                        sent += len(data[i : i + 4096])
                        time.sleep(behaviour.slow_delay_s)
                else:
                    self.wfile.write(data)
                    sent = len(data)
            except OSError:  # the client hung up (a cancelled download)
                self.close_connection = True
            finally:
                hub._file_done(repo, name, sent)

    return Handler
