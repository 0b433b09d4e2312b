"""Allow ``python -m hugo_pos``."""

from hugo_pos.cli import main

main()
