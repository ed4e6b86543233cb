#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Shapes and their areas; sample code for the analyzer tests.
# ruff: noqa
# fmt: off

from __future__ import annotations

import math
from dataclasses import dataclass, field


class ShapeError(ValueError):
    pass


@dataclass(frozen=True)
class Circle:
    """A circle with a radius in metres."""

    radius: float

    @property
    def area(self) -> float:
        return math.pi * self.radius**2

    @staticmethod
    def unit() -> Circle: return Circle(1.0)

    @classmethod
    def from_diameter(cls, diameter: float, /, *, label: str = "⌀") -> Circle:
        """Build a circle from its diameter."""
        if diameter <= 0:
            raise ShapeError(f"diameter must be positive, not {diameter}")
        return cls(diameter / 2)


class Canvas:
    class Layer:
        def __init__(self, name: str, *shapes: Circle, visible: bool = True, **style: str):
            self.name = name
            self.shapes = list(shapes)

        def __len__(self):
            return len(self.shapes)

    def __init__(self, width: int = 800, height: int = 600) -> None:
        self.layers: list[Canvas.Layer] = field(default_factory=list)

    def add(
        self,
        name: str,
        *shapes: Circle,
        opacity: "float | None" = None,
    ) -> Canvas.Layer:
        layer = self.Layer(name, *shapes)
        self.layers.append(layer)
        return layer

    def shapes(self):
        for layer in self.layers:
            yield from layer.shapes

    async def render(self, scale=1.0):
        def project(circle):
            return circle.radius * scale
        if not self.layers:
            raise RuntimeError
        for circle in self.shapes():
            await draw(project(circle))
        return None


def total_area(*circles: Circle) -> float:
	"""Sum the areas.

	Tabs indent this function.
	"""
	return sum(c.area for c in circles)
