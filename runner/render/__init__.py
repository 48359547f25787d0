"""Everything shown to people: text and JSON (output.py), progress lines (progress.py), the HTML
report (report.py), plots (plot.py) and the sweep series they draw (series.py)."""
