"""Shape completion: complete a partial scan with the latent code whose decoded shape explains
the observed voxels (observation simulators, the observed-only likelihood, latent search (ML),
an amortised completion encoder (AML), baselines and metrics). Qt-free."""
