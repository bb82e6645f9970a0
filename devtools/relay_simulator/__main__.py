"""`python -m devtools.relay_simulator --port 8765`"""

from __future__ import annotations

import argparse

from .cli import add_arguments, config_from_options
from .server import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.relay_simulator", description=__doc__)
    add_arguments(parser)
    serve(config_from_options(vars(parser.parse_args())))


if __name__ == "__main__":
    main()
