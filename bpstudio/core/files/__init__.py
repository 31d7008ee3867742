"""Files: the project file format and its schemas, atomic writes, and the exports. Uses the
kernel; never imports ``training``."""
