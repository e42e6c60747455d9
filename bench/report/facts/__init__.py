"""What the lesson states, computed from one run: numbers and verdicts, no Markdown.

One module per section family: ``rungs`` (the ladder's speeds), ``planner`` (the planned rung's
plans and races), ``beyond`` (the cluster), ``machines`` (runs side by side), ``numerics``.
A fact the run did not measure is None; the templates then print a labelled gap.
"""
