"""Component tests: one piece at a time against a real program (a browser, a PDF reader)."""
