"""`python -m sandbox.exact --port 8001 [--seed]`."""

from __future__ import annotations

import argparse

from . import run


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Exact Online simulator.")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", action="store_true", help='seed division 1234567 "Demo Academy B.V."')
    args = parser.parse_args()
    run(args.port, seed=args.seed, host=args.host)


if __name__ == "__main__":
    main()
