"""The Textual console: screens and widgets. No I/O here: it talks to a Backend."""
