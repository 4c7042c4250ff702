"""Pure decision math: quote models, ladder, estimators, signals, risk rules, order diff and the decision core.

No Nautilus, no I/O, no wire formats.
"""
