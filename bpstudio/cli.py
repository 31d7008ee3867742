"""``bpstudio-cli``: the headless entry point. Imports the core only."""

from __future__ import annotations

import argparse
import sys

from bpstudio import __version__
from bpstudio.core.ops import GROUPS, REGISTRY


def cmd_ops(args: argparse.Namespace) -> int:
    for group in GROUPS:
        print(group)
        for op in REGISTRY.values():
            if op.group == group:
                print(f"  {op.name:<12} {op.doc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpstudio-cli", description="Backprop Studio, headless.")
    parser.add_argument("--version", action="version", version=f"bpstudio {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ops", help="list every op in the registry").set_defaults(run=cmd_ops)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError) as exc:  # user mistakes: a message, never a traceback
        print(f"bpstudio-cli: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
