"""chatrepl: a terminal chat client with streaming Markdown and saved conversations."""

__version__ = "0.1.0"
