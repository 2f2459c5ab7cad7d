"""Composite blocks of the catalogue; each submodule registers its specs on import."""
