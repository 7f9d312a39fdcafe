"""Qt widgets of the Shape Latent Explorer."""
