"""The report: a results file of the benchmarks in, the lesson in reports/ out.

    python -m bench.report reports/results.json --out reports/ [--machines reports/machines]

load (through bench/schema.py) → select → facts and tables → charts → lesson (Jinja2 templates
in templates/, one per registered rung). compare writes the page of machines side by side.
A pure function of the results files: nothing is timed here.
"""
