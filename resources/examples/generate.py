"""Write the example projects (resources/examples/*.bpg) from their builders.

    python resources/examples/generate.py [OUTPUT_FOLDER]

The builders live in bpstudio.core.examples and use only the scripting API, so the files are
always in the current format; a test regenerates them and compares them with the committed ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bpstudio.core.examples import EXAMPLES
from bpstudio.core.files.fileformat import save


def generate(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, build in EXAMPLES.items():
        path = folder / f"{stem}.bpg"
        save(build(), path)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    for path in generate(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
