"""The PySide6 desktop app. Imports the core; the core never imports this package."""
