"""Place → areas for disputes: the store's grid locator (console/store/grid_locator.py)."""

from console.store.grid_locator import GridLocator, forget, locator_for

__all__ = ["GridLocator", "forget", "locator_for"]
