"""Shape Latent Explorer viewer: Qt-free core (session, meshing, export) plus the ``ui`` package."""
