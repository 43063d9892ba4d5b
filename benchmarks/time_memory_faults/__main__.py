"""python -m benchmarks.time_memory_faults [--only TEXT] [--keep DIR]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv=None) -> int:
    from benchmarks.time_memory_faults import __doc__ as doc
    from benchmarks.time_memory_faults import main as run

    parser = argparse.ArgumentParser(prog="python -m benchmarks.time_memory_faults",
                                     description=doc.splitlines()[0])
    parser.add_argument("--only", help="only the cases whose name contains this text "
                                       "(e.g. ppo_cartpole, __leak)")
    parser.add_argument("--keep", type=Path, help="keep the runs in this folder")
    args = parser.parse_args(argv)
    return run(args.only, args.keep)


if __name__ == "__main__":
    sys.exit(main())
