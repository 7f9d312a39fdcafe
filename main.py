"""Shape Latent Explorer from a checkout: ``python main.py`` is the ``shape-latent-explorer``
command (see ``explorer.entry``)."""

import sys

from explorer.entry import main

if __name__ == "__main__":
    sys.exit(main())
