"""Scripts that produce the numbers in the docs and train the shipped models.

They live beside ``benchmarks/`` and outside the installed package: each is run as
``python studies/<name>.py`` from a clone, takes its inputs as arguments, and writes what it
measured to the folder it is given.

* ``sdss_photoz_benchmark.py`` -- the real-data photo-z benchmark (and the ``sdss-photoz`` model);
* ``sim_model_real_checks.py`` -- what the simulated models do on real SDSS galaxies;
* ``ship_sim_models.py`` -- the recipe that trains ``sim-default`` and ``sim-photometry``.
"""
