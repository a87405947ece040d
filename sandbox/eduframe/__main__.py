"""Serve the Eduframe simulator: python -m sandbox.eduframe --port 8002 [--demo]."""

from __future__ import annotations

import argparse

from sandbox.eduframe.app import create_app
from sandbox.server import SandboxServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Eduframe Admin API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--demo", action="store_true", help="load the deterministic demo data")
    args = parser.parse_args(argv)
    app = create_app()
    if args.demo:
        from sandbox.demo_data import load_eduframe_demo

        print("demo data:", load_eduframe_demo(app.state))
    server = SandboxServer(app, host=args.host, port=args.port)
    print(f"Eduframe sandbox on {server.url} (API {server.url}/api/v1, token demo-token)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
