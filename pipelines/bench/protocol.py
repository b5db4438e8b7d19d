"""A dashboard viewer without a browser: Streamlit's own websocket protocol, spoken from asyncio.

The browser's Streamlit frontend opens `/_stcore/stream` (subprotocol `streamlit`, the page's cookies in the
handshake), sends a `rerun_script` BackMsg carrying the page (its URL path as `page_name`), the query string and
the widget states, and draws the ForwardMsgs that come back until one says `script_finished`. `Viewer` does the same,
so one process can hold a hundred sessions: each is a real server-side Streamlit session that runs the page script,
signs in from the cookie, reads the warehouse and builds the figures, exactly as for a browser; only the drawing is
left out. It sends no cached-message hashes, so the server sends every message whole, as to a new tab.
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from types import TracebackType
from typing import Self
from urllib.parse import urlencode, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NewSession_pb2 import NewSession
from streamlit.proto.WidgetStates_pb2 import WidgetState

STREAM = "/_stcore/stream"
SESSION_COOKIE = "ebook_analytics_session"  # dashboards.auth.sessions.COOKIE; no dashboard import in the client
# The sign-in form's one-time hand-off code, in the script the page asks the browser to run (dashboards.auth.session).
_HANDOFF = re.compile(r"""fetch\("/session/start", \{method: 'POST', body: "([A-Za-z0-9_-]+)\"""")
_FINISHED = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
}
_WIDGETS = ("selectbox", "multiselect", "text_input", "button", "date_input")


@dataclass(frozen=True)
class Widget:
    id: str
    kind: str  # the Element field: selectbox, multiselect, text_input, button, date_input
    options: tuple[str, ...] = ()  # a selectbox's or multiselect's choices


@dataclass
class View:
    """What one script run sent back, reduced to what a load test and its assertions need."""

    page: str
    elapsed_ms: float = 0.0
    exceptions: list[str] = field(default_factory=list)  # st.exception / uncaught errors, by message
    errors: list[str] = field(default_factory=list)  # st.error alerts
    metrics: dict[str, str] = field(default_factory=dict)  # KPI tile label -> shown value
    headings: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # markdown and captions
    html: list[str] = field(default_factory=list)
    widgets: dict[str, Widget] = field(default_factory=dict)  # by label
    charts: int = 0  # Plotly figures

    def clear(self) -> None:
        """Forget a run that ended early for a rerun: the page draws from scratch."""
        fresh = View(page=self.page)
        self.exceptions, self.errors, self.metrics = fresh.exceptions, fresh.errors, fresh.metrics
        self.headings, self.texts, self.html = fresh.headings, fresh.texts, fresh.html
        self.widgets, self.charts = fresh.widgets, fresh.charts

    def widget(self, label: str) -> Widget:
        """The widget with this label (KeyError naming the labels there are)."""
        try:
            return self.widgets[label]
        except KeyError:
            raise KeyError(f"no widget {label!r} on {self.page}; there are {sorted(self.widgets)}") from None

    def take(self, element: Element) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            self.errors.append(element.alert.body)
        elif kind == "metric":
            self.metrics[element.metric.label] = element.metric.body
        elif kind == "heading":
            self.headings.append(element.heading.body)
        elif kind == "markdown":
            self.texts.append(element.markdown.body)
        elif kind == "html":
            self.html.append(element.html.body)
        elif kind == "plotly_chart":
            self.charts += 1
        elif kind in _WIDGETS:
            widget = getattr(element, kind)
            options = tuple(getattr(widget, "options", ()))
            self.widgets[widget.label] = Widget(widget.id, kind, options)


class ViewFailed(RuntimeError):
    """The server closed the stream, or the run did not finish in time."""


class Viewer:
    """One browser tab's Streamlit session on `base_url`, signed in by `cookie` (None: no cookie at all)."""

    def __init__(self, base_url: str, cookie: str | None = None, timeout_s: float = 300) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookie = cookie
        self.timeout_s = timeout_s
        self._socket: websockets.ClientConnection | None = None
        self._page = ""  # the URL path of the page shown
        self._query = ""
        self._states: dict[str, WidgetState] = {}  # what the user set on this page, sent with every rerun

    async def __aenter__(self) -> Self:
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        headers = {"Origin": f"{parts.scheme}://{parts.netloc}"}
        if self.cookie:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.cookie}"
        self._socket = await websockets.connect(
            f"{scheme}://{parts.netloc}{parts.path}{STREAM}",
            subprotocols=[websockets.Subprotocol("streamlit")],
            additional_headers=headers,
            max_size=None,  # a page's figures come as one message each; Plotly JSON may be megabytes
            open_timeout=self.timeout_s,
            # No client pings: the browser's frontend sends none either, and a server saturated by a hundred
            # viewers may answer one late; the server's own pings (which this client answers) keep the connection.
            ping_interval=None,
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def open(self, page: str, **query: str | list[str]) -> View:
        """Navigate to `/<page>?<query>` as a link or a click in the navigation does: the page's filters start
        from the query string (the dashboards bind every filter to it)."""
        self._page, self._query, self._states = page, urlencode(query, doseq=True), {}
        return await self._run()

    async def choose(self, view: View, label: str, value: str | list[str]) -> View:
        """Change the filter `label` of the page `view` shows to `value` (a selectbox's option, or a multiselect's
        options) and rerun, as picking it in the sidebar does."""
        widget = view.widget(label)
        self._states[widget.id] = _state(widget, value)
        return await self._run()

    async def press(self, view: View, label: str) -> View:
        """Press the button `label` of the page `view` shows (its click is sent once, as the frontend does)."""
        button = view.widget(label)
        self._states[button.id] = WidgetState(id=button.id, trigger_value=True)
        try:
            return await self._run()
        finally:
            del self._states[button.id]

    async def sign_in(self, email: str, password: str) -> str:
        """Sign in through the form as a person does; returns the session cookie the server's hand-off route set
        (this viewer keeps using it, as a browser does)."""
        form = await self.open("")
        for label, value in (("Email", email), ("Password", password)):
            self._states[form.widget(label).id] = _state(form.widget(label), value)
        self._states[form.widget("Sign in").id] = WidgetState(id=form.widget("Sign in").id, trigger_value=True)
        signed_in = await self._run()  # the form's run reruns at once; the hand-off code comes with that rerun
        self._states = {}
        codes = [match.group(1) for body in signed_in.html for match in [_HANDOFF.search(body)] if match]
        if not codes:
            raise ViewFailed(f"sign-in as {email} failed: {signed_in.errors or 'no hand-off code came back'}")
        self.cookie = await asyncio.to_thread(redeem_handoff, self.base_url, codes[0])
        return self.cookie

    async def _run(self) -> View:
        if self._socket is None:
            raise ViewFailed("the viewer is not connected (use `async with Viewer(...)`)")
        message = BackMsg()
        message.rerun_script.query_string = self._query
        message.rerun_script.page_name = self._page
        message.rerun_script.widget_states.widgets.extend(self._states.values())
        view = View(page=self._page)
        started = time.perf_counter()
        await self._socket.send(message.SerializeToString())
        try:
            async with asyncio.timeout(self.timeout_s):
                while not await self._receive(view):
                    pass
        except TimeoutError as late:
            raise ViewFailed(
                f"{self._page or 'the default page'} did not finish within {self.timeout_s:.0f} s"
            ) from late
        except websockets.ConnectionClosed as closed:
            why = closed.rcvd or closed.sent
            raise ViewFailed(
                f"the stream closed during {self._page or 'the default page'}: {why.code if why else 'no close frame'}"
                f" {why.reason if why else ''}".rstrip()
            ) from closed
        view.elapsed_ms = (time.perf_counter() - started) * 1000
        return view

    async def _receive(self, view: View) -> bool:
        """Take one ForwardMsg into `view`; True once it says the script run is over."""
        assert self._socket is not None
        raw = await self._socket.recv(decode=False)
        message = ForwardMsg()
        message.ParseFromString(raw)
        kind = message.WhichOneof("type")
        if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            view.take(message.delta.new_element)
        elif kind == "page_info_changed":  # a filter wrote its value into the URL, as the browser's address bar
            self._query = message.page_info_changed.query_string
        elif kind == "new_session":
            self._page = _url_path(message.new_session) or self._page
        elif kind == "script_finished" and message.script_finished not in _FINISHED:
            view.clear()  # st.rerun(), or a newer request: only the run that finishes counts
        return kind == "script_finished" and message.script_finished in _FINISHED


def _state(widget: Widget, value: str | list[str]) -> WidgetState:
    """The widget state the frontend sends for this value."""
    state = WidgetState(id=widget.id)
    if widget.kind == "multiselect":
        state.string_array_value.data[:] = [value] if isinstance(value, str) else value
    elif widget.kind in ("selectbox", "text_input") and isinstance(value, str):
        state.string_value = value
    else:
        raise ValueError(f"cannot set the {widget.kind} {widget.id!r} to {value!r}")
    return state


def _url_path(session: NewSession) -> str:
    """The URL path of the page this run shows (the default page's path is the empty string in the request)."""
    paths = (page.url_pathname for page in session.app_pages if page.page_script_hash == session.page_script_hash)
    return str(next(paths, ""))


def redeem_handoff(base_url: str, code: str) -> str:
    """POST the one-time code to the server's `/session/start`, as the page's script does; the cookie it sets."""
    request = urllib.request.Request(f"{base_url.rstrip('/')}/session/start", data=code.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            headers: list[str] = response.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as refused:
        raise ViewFailed(f"/session/start refused the hand-off ({refused.code})") from refused
    jar = SimpleCookie()
    for header in headers:
        jar.load(header)
    if SESSION_COOKIE not in jar:
        raise ViewFailed("/session/start answered without the session cookie")
    return jar[SESSION_COOKIE].value
