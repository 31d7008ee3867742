"""Packaging glue that pyproject.toml cannot express alone: the top-level ``resources/`` folder
(example projects, bundled data) is installed inside the package as ``bpstudio/resources`` so that
an installed copy finds it. Everything else lives in pyproject.toml."""

from setuptools import find_packages, setup

# Its folders hold data, not code; naming them as packages is what keeps setuptools from
# warning that they would otherwise be left to chance.
RESOURCE_FOLDERS = ["bpstudio.resources." + name for name in ("data", "examples", "icons")]

setup(packages=find_packages(include=["bpstudio", "bpstudio.*"]) + ["bpstudio.resources"]
      + RESOURCE_FOLDERS)
