"""``python -m incidentkit``: the same command line as the ``incidentkit`` script."""

from incidentkit.cli import main

main()
