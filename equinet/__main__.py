"""``python -m equinet``: the main demo (see README.md)."""
import sys

from .demo_basis import main

if __name__ == "__main__":
    main(sys.argv[1:])
