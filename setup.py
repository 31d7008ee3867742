"""Packaging glue that pyproject.toml cannot express alone: the top-level ``resources/`` folder
(example projects, bundled data) is installed inside the package as ``bpstudio/resources`` so that
an installed copy finds it. Everything else lives in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["bpstudio", "bpstudio.*"]) + ["bpstudio.resources"])
