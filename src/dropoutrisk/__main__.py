"""Allow ``python -m dropoutrisk``."""

from dropoutrisk.cli import main

if __name__ == "__main__":
    main()
