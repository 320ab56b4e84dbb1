"""`python -m fbsdetect` is the same as the `fbsdetect` console script."""

from fbsdetect.cli.main import main

raise SystemExit(main())
