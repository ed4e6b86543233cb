"""Small geometry helpers."""

from __future__ import annotations

import math


def distance(x: float, y: float) -> float:
    """Return the distance of a point from the origin.

    The point is given by its Cartesian coordinates.

    Args:
        x: The horizontal coordinate.
        y (float): The vertical
            coordinate.

    Returns:
        The Euclidean norm of the point.
    """
    return math.hypot(x, y)


def scale(values: list[float], factor: float = 2.0) -> list[float]:
    """Multiply every value by a factor.

    Parameters
    ----------
    values : list of float
        The numbers to scale.
    factor : float
        What to multiply by.
    """
    return [v * factor for v in values]


def clamp(value: float, low: float, high: float) -> float:
    """Limit a value to a range.

    :param value: The number to limit.
    :param low: The smallest allowed result.
    :param high: The largest allowed result.
    """
    return max(low, min(high, value))


class Shape:
    """A shape that knows nothing yet."""


def undocumented(a: int) -> int:
    return a + 1
