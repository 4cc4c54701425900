"""The HTTP side of `urumi dashboard`: the standard library's ThreadingHTTPServer on 127.0.0.1.

Security, in the order every request meets it:
  1. Host must be 127.0.0.1:<port> or localhost:<port> (a DNS-rebinding page has another Host).
  2. The per-run token: `?token=` on the page URL (answered with an HttpOnly, SameSite=Strict
     cookie and a redirect that drops it from the address bar), the cookie, or `X-Urumi-Token`.
     Anything else is 401.
  3. State-changing requests (POST, DELETE) need an Origin equal to this server's own (else 403),
     the token in the `X-Urumi-Token` header (a cookie alone is not enough: browsers attach
     cookies to cross-site form posts, and 127.0.0.1 on another port is the same "site"), and a
     JSON body.
Responses carry a strict Content-Security-Policy, `no-store` and `Referrer-Policy: no-referrer`
(so "Visit store" never leaks the token). The request log never has query strings or bodies.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from urumi_cli.dashboard.board import Board, error_json
from urumi_cli.errors import EXIT_ENVIRONMENT, EXIT_NOT_FOUND, EXIT_TIMEOUT, EXIT_USAGE, Conflict, UrumiError

HOST = "127.0.0.1"  # never anything else: no option binds beyond loopback
TOKEN_HEADER = "X-Urumi-Token"
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
MAX_BODY = 16 * 1024
HEARTBEAT_S = 15.0
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_STORE_PATH = re.compile(r"^/api/stores/([^/]+)(/credentials)?$")


def new_token() -> str:
    return secrets.token_urlsafe(24)


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True  # page connections (SSE) never hold up Ctrl-C
    allow_reuse_address = True

    def __init__(self, board: Board, *, port: int, token: str, log=None):
        self.board = board
        self.token = token
        self.log = log or (lambda line: None)
        self.stopping = threading.Event()
        super().__init__((HOST, port), Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"

    @property
    def cookie_name(self) -> str:
        return f"urumi_dashboard_{self.port}"  # cookies ignore ports: one name per dashboard

    def allowed_hosts(self) -> set[str]:
        return {f"{HOST}:{self.port}", f"localhost:{self.port}"}


def _status_for(err: UrumiError) -> int:
    if isinstance(err, Conflict):
        return 409
    return {EXIT_USAGE: 400, EXIT_NOT_FOUND: 404, EXIT_ENVIRONMENT: 503, EXIT_TIMEOUT: 504}.get(err.exit_code, 500)


class Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "urumi-dashboard"
    sys_version = ""

    # -- plumbing ------------------------------------------------------------------------------
    def log_request(self, code="-", size="-"):
        # Method, path without the query (it may hold the token) and status; never a body.
        path = urlsplit(getattr(self, "path", "") or "").path or "-"
        self.server.log(f"{getattr(self, 'command', None) or '-'} {path} {int(code) if str(code).isdigit() else code}")

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        # The base class logs malformed request lines verbatim (a token included): not here.
        self.server.log("malformed request refused")

    def _headers(self, status: int, content_type: str, length: int | None = None, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self._headers(status, content_type, len(body), extra)
        self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, status: int, message: str, hint: str | None = None) -> None:
        self._json(status, {"error": {"message": message, "hint": hint, "details": None}})

    def _urumi_error(self, err: UrumiError) -> None:
        self._json(_status_for(err), {"error": error_json(err)})

    # -- checks --------------------------------------------------------------------------------
    def _token_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(candidate.encode(), self.server.token.encode())

    def _cookie_token(self) -> str | None:
        from http.cookies import CookieError, SimpleCookie

        try:
            jar = SimpleCookie(self.headers.get("Cookie", ""))
        except CookieError:
            return None
        morsel = jar.get(self.server.cookie_name)
        return morsel.value if morsel else None

    def _host_ok(self) -> bool:
        return self.headers.get("Host", "") in self.server.allowed_hosts()

    def _origin_ok(self) -> bool:
        origin = self.headers.get("Origin")
        return origin is not None and origin == f"http://{self.headers.get('Host', '')}"

    def _admit(self, *, changes_state: bool) -> bool:
        """Answers and returns False when the request may not proceed."""
        if not self._host_ok():
            self._error(403, "unexpected Host header", f"open the URL `urumi dashboard` printed ({HOST})")
            return False
        header = self.headers.get(TOKEN_HEADER)
        if changes_state:
            if not self._origin_ok():  # first: a cross-site form post is told what it is
                self._error(403, "cross-origin request refused", "use the dashboard page itself")
                return False
            if not self._token_ok(header):
                self._error(401, f"missing or wrong {TOKEN_HEADER} header",
                            "open the URL `urumi dashboard` printed; its token changes every run")
                return False
            return True
        if self._token_ok(header) or self._token_ok(self._cookie_token()):
            return True
        self._error(401, "missing or wrong token", "open the URL `urumi dashboard` printed; its token changes every run")
        return False

    def _body(self) -> dict | None:
        """The JSON object of a state-changing request, or None after answering 400/415."""
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._error(415, "expected a JSON body (Content-Type: application/json)")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._error(400, f"body missing or larger than {MAX_BODY} bytes")
            return None
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self._error(400, "body is not a JSON object")
            return None
        return data

    # -- routes --------------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        if url.path == "/" and self._host_ok():
            given = (parse_qs(url.query).get("token") or [None])[0]
            if given is not None and self._token_ok(given):
                cookie = f"{self.server.cookie_name}={self.server.token}; Path=/; HttpOnly; SameSite=Strict"
                self._send(303, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie})
                return
        if not self._admit(changes_state=False):
            return
        if url.path == "/":
            page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
            # The page's scripts need the token for their POSTs; the cookie is HttpOnly.
            page = page.replace("{{TOKEN}}", self.server.token)
            self._send(200, page.encode(), "text/html; charset=utf-8")
        elif url.path.startswith("/static/") and url.path[len("/static/"):] in STATIC_FILES:
            name = url.path[len("/static/"):]
            self._send(200, (STATIC_DIR / name).read_bytes(), STATIC_FILES[name])
        elif url.path == "/api/state":
            self._json(200, self.server.board.state())
        elif url.path == "/api/stores":
            self._json(200, self.server.board.stores_json())
        elif url.path == "/api/events":
            self._events()
        elif (match := _STORE_PATH.match(url.path)) and not match.group(2):
            try:
                self._json(200, self.server.board.fleet.describe(match.group(1)))
            except UrumiError as err:
                self._urumi_error(err)
        elif _STORE_PATH.match(url.path):
            self._error(405, f"GET is not allowed on {url.path}")
        else:
            self._error(404, f"no such page {url.path}")

    def do_POST(self):  # noqa: N802
        if not self._admit(changes_state=True):
            return
        path = urlsplit(self.path).path
        match = _STORE_PATH.match(path)
        if path != "/api/stores" and not (match and match.group(2)):
            self._error(404 if not match else 405, f"POST is not allowed on {path}")
            return
        body = self._body()
        if body is None:
            return
        board = self.server.board
        try:
            if match:  # credentials: read on demand, answered once, never logged or kept
                self._json(200, board.fleet.credentials(match.group(1)))
            else:
                op = board.start_create(str(body.get("name", "")), str(body.get("type", "")))
                self._json(202, op.to_json())
        except UrumiError as err:
            self._urumi_error(err)

    def do_DELETE(self):  # noqa: N802
        if not self._admit(changes_state=True):
            return
        match = _STORE_PATH.match(urlsplit(self.path).path)
        if not match or match.group(2):
            self._error(405, "DELETE is only allowed on /api/stores/<name>")
            return
        body = self._body()
        if body is None:
            return
        try:
            op = self.server.board.start_delete(match.group(1), str(body.get("confirm", "")))
            self._json(202, op.to_json())
        except UrumiError as err:
            self._urumi_error(err)

    def _events(self) -> None:
        """Server-Sent Events: the whole state first, then every change as it happens."""
        hub = self.server.board.hub
        q = hub.subscribe()
        try:
            self._headers(200, "text/event-stream; charset=utf-8", extra={"X-Accel-Buffering": "no"})
            self._event("hello", self.server.board.state())
            while not (hub.closed.is_set() or self.server.stopping.is_set()) and hub.subscribed(q):
                try:
                    event, data = q.get(timeout=HEARTBEAT_S)
                except Exception:  # queue.Empty: a comment keeps proxies and dead-peer detection honest
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                self._event(event, data)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the page went away
        finally:
            hub.unsubscribe(q)
            self.close_connection = True

    def _event(self, event: str, data: dict) -> None:
        self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


def serve(board: Board, *, port: int, token: str, out, log, open_browser: bool, stop: threading.Event,
          on_started=None) -> None:
    """Serve until Ctrl-C (KeyboardInterrupt, returned from normally) or `stop`. The URL is the
    first line on `out`. Raises OSError when the port cannot be bound."""
    server = DashboardServer(board, port=port, token=token, log=log)
    try:
        out.write(server.url + "\n")
        out.flush()
        if on_started is not None:
            on_started(server)
        if open_browser:
            import webbrowser

            # In a thread: some browsers webbrowser picks (a text one over SSH) block until closed.
            threading.Thread(target=webbrowser.open, args=(server.url,), name="open-browser", daemon=True).start()
        threading.Thread(target=lambda: (stop.wait(), server.shutdown()), daemon=True).start()
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM, see cli/dashboard.py) at any point after the bind
        pass
    finally:
        server.stopping.set()
        board.hub.close()
        server.server_close()
