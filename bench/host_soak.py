"""`make bench` section: the full soak (bench/soak.py), its rows as @@BENCH lines and
its plot in docs/soak.png; bench/run.py writes the rows into docs/bench-results.md."""
import sys

import soak

if __name__ == "__main__":
    sys.exit(soak.main(["--no-doc"] + sys.argv[1:]))
