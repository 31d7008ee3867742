"""``python -m bpstudio [FILE]`` starts the desktop app."""

from bpstudio.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
