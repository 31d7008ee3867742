"""The PyInstaller bundle's entry script: the same main as the installed ``bpstudio``."""

from bpstudio.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
