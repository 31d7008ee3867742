"""The version of Backprop Studio, in one leaf module: the package, the file format, the
exporters and the packaging metadata (pyproject.toml) all read it from here."""

__version__ = "0.1.0"
