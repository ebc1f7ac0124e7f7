"""``python -m mro_bridge_sim``: the same as ``mro-bridge-sim``."""

import sys

from mro_bridge_sim.simulate import main

sys.exit(main())
