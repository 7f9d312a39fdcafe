"""Data, model and training for Shape Latent Explorer. Imports no Qt."""
