"""Serve the dashboard with Solara's Starlette app under uvicorn, on the loopback interface."""

from __future__ import annotations

import os
import socket
import sys
import warnings
from types import FrameType

SETTINGS = {
    "SOLARA_APP": "sim.app.page:Page",
    "SOLARA_MODE": "production",
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_THEME_TITLE": "Platform finance classroom",
}
HOST = "127.0.0.1"
SCENARIO_ENV = "SIM_APP_SCENARIO"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((HOST, port)) == 0


def serve(scenario: str, port: int, *, log_level: str = "warning") -> None:
    """Run the server until Ctrl-C or SIGTERM, which end the process with exit code 0 (see `Server`). Solara reads
    its settings from the environment when first imported, so nothing here imports it before the environment is
    set."""
    os.environ.update(SETTINGS)
    os.environ[SCENARIO_ENV] = os.path.abspath(scenario)
    # Solara warns on every page load (12 lines on cookies, https and iframes) when the host is not "localhost" and
    # falls back to a samesite=lax cookie: right for a page served over http on 127.0.0.1 and not embedded
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, ended at once by Ctrl-C (or SIGTERM): nothing in a tab outlives the process anyway.

        Its graceful stop took 1 to 5 s while tabs played (more on a slow or busy machine): it waited for every
        tab's websocket and handler thread to end, Solara then closed each tab's kernel (unmounting a page whose
        play thread was still drawing it), and the interpreter's exit garbage-collected every module and model.
        The first signal now does what uvicorn's second Ctrl-C does (no waiting, no closing of kernels), and the
        process ends once the listening socket is closed and every websocket has been sent its close."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            self.force_exit = True

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await super().shutdown(sockets)
            # not through asyncio.run's clean-up: it cancels the tabs' handlers, which log tracebacks
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # the exit code a Ctrl-C has always had here (`sim.cli.app.main`)

    server = Server(uvicorn.Config("solara.server.starlette:app", host=HOST, port=port, log_level=log_level))
    server.run()
    if not server.started:  # as uvicorn.run: the port was taken after `port_in_use` looked (uvicorn said so)
        sys.exit(3)
