"""`python -m evals`: see evals/runner.py."""

from evals.runner import main

raise SystemExit(main())
