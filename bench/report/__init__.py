"""The report: a results file of the benchmarks in, the lesson in reports/ out.

    python -m bench.report reports/results.json --out reports/ [--machines reports/machines]

load (through bench/results/schema.py) → ladder → select → facts/ → tables/ and charts/ → pages (Jinja2
templates in templates/). A pure function of the results files: nothing is timed here, and
nothing of the code the file describes is imported (see README.md beside this file).
"""
