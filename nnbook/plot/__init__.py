"""Figures and diagrams the chapters draw, one module per kind of picture.

A notebook imports what it draws from here, so that its cells show the experiment and
not the plotting code, and every drawing is tested like the rest of the package.
"""

from nnbook.plot.network import draw_network, function_and_derivative

__all__ = ["draw_network", "function_and_derivative"]
