"""``python -m simulator``: see simulator.cli.main."""
import sys

from simulator.cli.main import main

sys.exit(main())
