"""``python -m explorer``: the same as the ``shape-latent-explorer`` command."""

import sys

from explorer.entry import main

sys.exit(main())
