"""``python -m astro_galflow`` runs the ``galflow`` command."""

import sys

from astro_galflow.cli import main

sys.exit(main())
