"""Training of the image VAE and of the posterior heads (``galflow train``)."""
