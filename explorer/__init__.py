"""Shape Latent Explorer viewer: Qt-free core (session, meshing, export) plus the ``ui`` package."""

__version__ = "0.1.0"
