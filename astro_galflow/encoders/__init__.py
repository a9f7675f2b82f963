"""Encoders: turn cutouts and photometry into features for the posterior heads."""
