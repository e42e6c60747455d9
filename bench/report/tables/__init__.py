"""The lesson's tables as Markdown, built from the facts of one run; one module per section family."""
