"""Command line shared by the example scripts: ``--small`` and ``--out``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def run(main, doc: str, default_out: str) -> None:
    """Parse ``--small`` / ``--out`` and call ``main(small, out)``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        default=bool(os.environ.get("LOGITKIT_EXAMPLES_SMALL")),
                        help="a quick run on less data (also LOGITKIT_EXAMPLES_SMALL=1)")
    parser.add_argument("--out", default=default_out,
                        help="the PNG to write (its folder is created if missing)")
    args = parser.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    main(args.small, args.out)
