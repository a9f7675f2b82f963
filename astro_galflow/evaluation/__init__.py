"""Evaluation of posterior models: metrics, baselines, figures and reports.

:mod:`~astro_galflow.evaluation.metrics` is pure numpy and imports nothing heavy;
the baselines (scikit-learn) and plots (matplotlib, corner, umap) import their
libraries inside the functions that use them.
"""
