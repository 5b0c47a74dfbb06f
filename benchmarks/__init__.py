"""Reproducible speed comparisons; each prints a table and writes JSON."""
