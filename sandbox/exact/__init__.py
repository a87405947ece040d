"""A strict offline simulator of the Exact Online REST API (see docs/architecture.md; the evidence keys and
source numbers S1... the comments cite are listed in docs/sandbox-behaviours.md, "Citations")."""

from __future__ import annotations


def run(port: int = 8001, *, seed: bool = False, host: str = "127.0.0.1") -> None:
    """Serve the simulator in the foreground (`python -m sandbox.exact --port 8001 [--seed]`)."""
    from sandbox.server import SandboxServer

    from .app import create_app

    app = create_app()
    if seed:
        app.state.seed_division(1234567, "Demo Academy B.V.")
    server = SandboxServer(app, host=host, port=port)
    print(f"Exact Online sandbox on {server.url}", flush=True)  # noqa: T201
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
