"""hugo-pos: take real orders from a Hugo menu site into a restaurant's point of sale."""

__version__ = "0.1.0"
