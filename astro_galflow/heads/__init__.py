"""Posterior heads: conditional densities of physical parameters given encoder features."""
