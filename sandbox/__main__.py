"""Run both simulators: `python -m sandbox [--exact-port 8001] [--eduframe-port 8002] [--demo]`."""

from __future__ import annotations

import argparse
import signal
import threading

from sandbox.server import SandboxServer


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the Exact Online and Eduframe simulators.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--exact-port", type=int, default=8001)
    parser.add_argument("--eduframe-port", type=int, default=8002)
    parser.add_argument("--demo", action="store_true", help="seed the deterministic demo data")
    return parser.parse_args()


def _seed_demo(exact_state, eduframe_state) -> str:
    from sandbox.demo_data import EXACT_DEMO_DIVISION, load_eduframe_demo

    exact_state.seed_division(**EXACT_DEMO_DIVISION)
    summary = load_eduframe_demo(eduframe_state)
    return ", ".join(f"{count} {name}" for name, count in summary.items() if isinstance(count, int) and count)


def main() -> None:
    from sandbox.eduframe.app import create_app as create_eduframe
    from sandbox.exact.app import create_app as create_exact

    args = _parse_args()
    exact, eduframe = create_exact(), create_eduframe()
    if args.demo:
        print(f"Demo data: {_seed_demo(exact.state, eduframe.state)}", flush=True)
    servers = [
        SandboxServer(exact, args.host, args.exact_port).start(),
        SandboxServer(eduframe, args.host, args.eduframe_port).start(),
    ]
    print(f"Exact Online simulator: {servers[0].url}", flush=True)
    print(f"Eduframe simulator:     {servers[1].url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    for server in servers:
        server.stop()


if __name__ == "__main__":
    main()
