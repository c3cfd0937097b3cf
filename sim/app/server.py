"""Serve the dashboard with Solara's Starlette app under uvicorn, on the loopback interface."""

from __future__ import annotations

import os
import socket

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
    """Run the server until interrupted. Solara reads its settings from the environment when first
    imported, so nothing here imports it before the environment is set."""
    os.environ.update(SETTINGS)
    os.environ[SCENARIO_ENV] = os.path.abspath(scenario)
    import uvicorn

    uvicorn.run("solara.server.starlette:app", host=HOST, port=port, log_level=log_level, workers=1)
