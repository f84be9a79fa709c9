"""Readers of outside formats: MedS-Ins task files (and later the Excel template, MMedBench)."""
