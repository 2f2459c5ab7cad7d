"""Primitive layers of the catalogue; each submodule registers its specs on import."""
