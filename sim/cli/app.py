"""Start the teaching dashboard in the browser (Solara), on this machine only (127.0.0.1).

  python run.py app                              the classroom scenario on port 8765
  python run.py app scenarios/baseline.yaml --port 9000

Open the printed address; stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli import UsageError

NAME = "app"
HELP = "start the teaching dashboard in the browser"
DEFAULT = Path(__file__).resolve().parents[2] / "scenarios" / "classroom.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", nargs="?", default=str(DEFAULT),
                        help="scenario YAML file (default: scenarios/classroom.yaml)")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 = any free port)")


def main(args: argparse.Namespace) -> int:
    from sim.app.session import unplayable
    from sim.scenario_files import load

    refused = unplayable(load(args.scenario).scenario, args.scenario)  # a bad file stops here (ScenarioError)
    if refused:
        raise UsageError(refused)
    try:
        from sim.app import server
    except ImportError as exc:
        raise UsageError(f"the dashboard needs Solara: pip install -e . ({exc})") from None
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: {args.port} is out of range; allowed: 0 to 65535")
    port = args.port or server.free_port()
    if server.port_in_use(port):
        raise UsageError(f"--port: {port} is already in use; pick another with --port N (0 = any free port)")
    print(f"Dashboard for {args.scenario}: http://{server.HOST}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve(args.scenario, port)  # once serving, Ctrl-C ends the process there, with 0 (see `server.serve`)
    except KeyboardInterrupt:  # a Ctrl-C before uvicorn took the signal (while Solara loads)
        pass
    return 0
